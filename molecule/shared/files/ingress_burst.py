"""Send a burst of HTTPS requests to one host name through the ingress and count the answers.

Usage: ingress_burst.py ADDRESS PORT HOST CA_FILE PATH COUNT CONCURRENCY

Every request connects to ADDRESS:PORT, presents HOST by SNI and in the Host header, and checks
the served certificate against CA_FILE for HOST (what `curl --resolve` does). It prints one JSON
object: the count of each status code, the seconds the burst took, and the requests per second.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import urllib3


def main(address: str, port: str, host: str, ca_file: str, path: str, count: str, concurrency: str) -> int:
    pool = urllib3.HTTPSConnectionPool(
        address, int(port), maxsize=int(concurrency), block=True, server_hostname=host,
        assert_hostname=host, ca_certs=ca_file, cert_reqs="CERT_REQUIRED", retries=False, timeout=10,
    )

    def one(_: int) -> int:
        return pool.request("GET", path, headers={"Host": host}, preload_content=True).status

    start = time.monotonic()
    with ThreadPoolExecutor(int(concurrency)) as workers:
        codes = Counter(workers.map(one, range(int(count))))
    took = time.monotonic() - start
    print(json.dumps({"codes": {str(k): v for k, v in sorted(codes.items())}, "seconds": round(took, 2),
                      "per_second": round(int(count) / took, 1)}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
