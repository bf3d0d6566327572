"""Runs one notebook cell on a JupyterLab server as the browser does: a kernel started over the
REST API, the code sent over the kernel's websocket, the output read back from it. Prints the
cell's output. Usage: notebook_cell.py URL CODE (URL as Usine opens it, with ?token=).

Run with the lab's Jupyter venv's python (it has websocket-client, a jupyter_server dependency).
"""

import json
import sys
import urllib.parse
import urllib.request
import uuid

import websocket


def main() -> None:
    url, code = sys.argv[1], sys.argv[2]
    parts = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parts.query)["token"][0]
    base = f"{parts.scheme}://{parts.netloc}"
    auth = {"Authorization": f"token {token}"}
    request = urllib.request.Request(f"{base}/api/kernels", data=b"{}", method="POST", headers=auth)
    kernel = json.load(urllib.request.urlopen(request, timeout=60))["id"]
    try:
        ws = websocket.create_connection(
            f"ws://{parts.netloc}/api/kernels/{kernel}/channels?token={token}", timeout=60
        )
        msg_id = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "usine",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False},
                    "channel": "shell",
                }
            )
        )
        out = []
        while True:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise SystemExit("the cell failed: " + msg["content"]["evalue"])
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        ws.close()
        print("".join(out), end="")
    finally:
        delete = urllib.request.Request(f"{base}/api/kernels/{kernel}", method="DELETE", headers=auth)
        urllib.request.urlopen(delete, timeout=60)


main()
