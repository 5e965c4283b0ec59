#!/usr/bin/env python3
"""A Slack-compatible incoming-webhook stand-in for the scenarios, served by pytest-httpserver:
every POSTed JSON body is appended to OUTFILE as one line {"path", "payload"}; a body that is
not JSON is answered 400. It serves until it is killed."""
import argparse
import json
import re

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int, help="port on 127.0.0.1")
    parser.add_argument("outfile", help="JSON lines file the messages are appended to")
    opts = parser.parse_args()

    def record(request: Request) -> Response:
        payload = request.get_json(force=True, silent=True)
        if payload is None:
            return Response("not JSON", status=400)
        with open(opts.outfile, "a", encoding="utf-8") as out:
            out.write(json.dumps({"path": request.path, "payload": payload}) + "\n")
        return Response("ok")

    server = HTTPServer("127.0.0.1", opts.port)
    server.expect_request(re.compile(r"/.*"), method="POST").respond_with_handler(record)
    server.start()
    server.server_thread.join()


if __name__ == "__main__":
    main()
