import asyncio
import threading

import pytest

from flatmob_mn.agents import control
from flatmob_mn.errors import AgentError


@pytest.fixture
def served(tmp_path):
    path = tmp_path / "c.sock"
    loop = asyncio.new_event_loop()

    async def echo(req):
        return {"echo": req.get("x")}

    async def refuse(req):
        raise AgentError("no such mobile node")

    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(
            control.serve(path, {"echo": echo, "refuse": refuse})
        )
        ready.set()
        loop.run_forever()
        server.close()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(
            asyncio.gather(*pending, return_exceptions=True)
        )
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    yield path
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_call_returns_fields(served):
    assert control.ControlClient(served).call("echo", x=3) == {"echo": 3}


def test_refusal_is_an_agent_error(served):
    with pytest.raises(AgentError, match="no such mobile node"):
        control.ControlClient(served).call("refuse")


def test_unknown_op_lists_the_ops(served):
    with pytest.raises(AgentError, match="echo, refuse"):
        control.ControlClient(served).call("nope")


def test_unreachable_agent(tmp_path):
    with pytest.raises(AgentError, match="nothing.sock"):
        control.ControlClient(tmp_path / "nothing.sock", 0.5).call("x")
