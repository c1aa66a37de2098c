#!/usr/bin/python3
"""pyrobot.py - Socket.IO interop test: Debian's python3-socketio
(AsyncClient, transports=['websocket', 'polling'] as the original robot
connects) as a robot against the real porthole-cloud, with a native
viewer (aiohttp's WebSocket client, docs/PROTOCOL.md): the robot registers,
appears in available-robots to the viewer, and offer, answer and ICE
candidates are relayed both ways; then the same over polling alone.

Environment: PORTHOLE_CLOUD (the server binary), PORTHOLE_WEB_ROOT.
Exits 0 when every case passed, 1 otherwise, 77 when the Python packages
are missing. Every wait is bounded."""

import asyncio
import json
import os
import socket
import subprocess
import sys

try:
    import aiohttp
    import socketio
except ImportError as e:
    print(f"SKIPPED: python3-socketio or python3-aiohttp missing ({e})")
    sys.exit(77)

STEP = 5.0
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\n"}
CAND = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "sdpMid": "0", "sdpMLineIndex": 0}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """Messages by type, taken in order with a bounded wait."""

    def __init__(self):
        self.items = []
        self.cond = asyncio.Condition()

    async def put(self, typ, data):
        async with self.cond:
            self.items.append((typ, data))
            self.cond.notify_all()

    async def next(self, typ):
        async def take():
            async with self.cond:
                while True:
                    for i, (t, d) in enumerate(self.items):
                        if t == typ:
                            del self.items[i]
                            return d
                    await self.cond.wait()
        return await asyncio.wait_for(take(), STEP)


async def robot_case(url, port, transports, robot_id):
    inbox = Inbox()
    sio = socketio.AsyncClient(reconnection=False)

    @sio.on("*")
    async def any_event(event, data=None):
        await inbox.put(event, data)

    await asyncio.wait_for(sio.connect(url, transports=transports), STEP)
    await sio.emit("robot-register", {"robotId": robot_id, "deviceInfo": {"name": "py"}})
    await inbox.next("registered")

    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"ws://127.0.0.1:{port}/ws")
        vbox = Inbox()

        async def reader():
            async for msg in ws:
                m = json.loads(msg.data)
                await vbox.put(m["type"], m)
        task = asyncio.create_task(reader())
        await ws.send_json({"type": "client-register", "clientId": f"v-{robot_id}"})
        robots = (await vbox.next("available-robots"))["robots"]
        assert any(r["robotId"] == robot_id and r["deviceInfo"]["name"] == "py"
                   for r in robots), robots
        await ws.send_json({"type": "create-session", "robotId": robot_id,
                            "streamTypes": ["color"]})
        sid = (await vbox.next("session-created"))["sessionId"]
        cs = await inbox.next("create-session")
        assert cs["sessionId"] == sid and cs["streamTypes"] == ["color"], cs
        await sio.emit("webrtc-offer", {"sessionId": sid, "offer": OFFER})
        assert (await vbox.next("webrtc-offer"))["offer"] == OFFER
        await ws.send_json({"type": "webrtc-answer", "sessionId": sid, "answer": ANSWER})
        assert (await inbox.next("webrtc-answer"))["answer"] == ANSWER
        await ws.send_json({"type": "ice-candidate", "sessionId": sid, "candidate": CAND})
        assert (await inbox.next("ice-candidate"))["candidate"] == CAND
        await sio.emit("ice-candidate", {"sessionId": sid, "candidate": CAND})
        assert (await vbox.next("ice-candidate"))["candidate"] == CAND
        await sio.emit("close-session", {"sessionId": sid})
        assert (await vbox.next("session-closed"))["sessionId"] == sid
        await sio.disconnect()
        assert (await vbox.next("robot-unavailable"))["robotId"] == robot_id
        await ws.close()
        task.cancel()


async def main():
    bin_ = os.environ.get("PORTHOLE_CLOUD")
    if not bin_:
        print("pyrobot: PORTHOLE_CLOUD is not set")
        return 1
    port = free_port()
    args = [bin_, "--bind", "127.0.0.1", "--port", str(port)]
    if os.environ.get("PORTHOLE_WEB_ROOT"):
        args += ["--web-root", os.environ["PORTHOLE_WEB_ROOT"]]
    cloud = subprocess.Popen(args)
    url = f"http://127.0.0.1:{port}"
    failed = 0
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                await asyncio.sleep(0.05)
        for transports, rid in ((["websocket", "polling"], "py-ws"), (["polling"], "py-poll")):
            try:
                await asyncio.wait_for(robot_case(url, port, transports, rid), 30)
                print(f"ok - python-socketio robot ({transports}) with a native viewer")
            except Exception as e:  # noqa: BLE001 - report every failure
                failed += 1
                print(f"not ok - python-socketio robot ({transports}): {e!r}")
    finally:
        cloud.terminate()
        try:
            rc = cloud.wait(10)
        except subprocess.TimeoutExpired:
            cloud.kill()
            rc = -9
        if rc != 0:
            print(f"not ok - the cloud exited with {rc}")
            failed += 1
    print(f"pyrobot: {2 - min(failed, 2)} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
