#!/usr/bin/env python3
"""A Slack-compatible incoming-webhook stand-in for the scenarios: every POSTed JSON body
is appended as one line to OUTFILE. Usage: webhook_receiver.py PORT OUTFILE"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload = json.loads(body)
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        with open(sys.argv[2], "a", encoding="utf-8") as out:
            out.write(json.dumps({"path": self.path, "payload": payload}) + "\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
