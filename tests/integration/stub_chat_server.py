"""A scripted OpenAI-compatible chat endpoint for the agent's CLI test (stdlib only).

    python3 stub_chat_server.py SCRIPT.json PORT_FILE REQUESTS.jsonl

Serves POST /v1/chat/completions on a free port (written to PORT_FILE): reply i is the i-th
assistant message of SCRIPT.json (the last one repeats), with finish_reason and usage; every
request body is appended to REQUESTS.jsonl.
"""
import http.server
import json
import sys

script = json.load(open(sys.argv[1]))
port_file, requests_file = sys.argv[2], sys.argv[3]
served = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global served
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(requests_file, "a") as log:
            log.write(body.decode() + "\n")
        message = script[min(served, len(script) - 1)]
        served += 1
        reply = {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                 "usage": {"prompt_tokens": len(body) // 4, "completion_tokens": 5}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as out:
    out.write(str(server.server_address[1]))
server.serve_forever()
