#!/usr/bin/env python3
"""A real HTTP client for the wpk serve tests and benchmark (standard library only).

  client.py send  PORT PATH KEY BODY [--timestamp T] [--content-type T] [--signature S]
      one signed POST; prints {"status": N, "body": "..."}
  client.py load  PORT PATH KEY COUNT CONCURRENCY [--sigterm PID AFTER] [--bad-signature]
      COUNT signed POSTs, each with a unique body, over CONCURRENCY keep-alive connections;
      prints {"statuses": {...}, "runs": [...], "errors": N, "seconds": S, "p50_ms": .., "p99_ms": ..}
Every request has a 30 s timeout and the load stops after COUNT requests, so it always ends.
"""
import hashlib, hmac, http.client, json, os, signal, sys, threading, time


def sign(key, timestamp, body):
    return "sha256=" + hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def post(conn, path, key, body, timestamp=None, content_type="application/json", signature=None):
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    headers = {"Content-Type": content_type, "X-WPK-Timestamp": timestamp,
               "X-WPK-Signature": signature or sign(key, timestamp, body)}
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def send(argv):
    port, path, key, body = int(argv[0]), argv[1], argv[2], argv[3].encode()
    options = dict(zip(argv[4::2], argv[5::2]))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    status, data = post(conn, path, key, body, options.get("--timestamp"), options.get("--content-type", "application/json"),
                        options.get("--signature"))
    print(json.dumps({"status": status, "body": data.decode("utf-8", "replace")}))


def load(argv):
    port, path, key, count, concurrency = int(argv[0]), argv[1], argv[2], int(argv[3]), int(argv[4])
    rest = argv[5:]
    sigterm = None
    if "--sigterm" in rest:
        i = rest.index("--sigterm")
        sigterm = (int(rest[i + 1]), int(rest[i + 2]))
    bad = "--bad-signature" in rest
    lock = threading.Lock()
    statuses, runs, latencies = {}, [], []
    errors = [0]
    next_index = [0]
    done = [0]
    signalled = [False]

    def worker():
        conn = None
        while True:
            with lock:
                if next_index[0] >= count:
                    return
                index = next_index[0]
                next_index[0] += 1
            body = json.dumps({"deployment": "web", "n": index, "pid": os.getpid()}).encode()
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, data = post(conn, path, key, body, signature=("sha256=" + "0" * 64) if bad else None)
            except Exception:
                with lock:
                    errors[0] += 1
                conn = None
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status == 202:
                    runs.extend(json.loads(data)["runs"])
                done[0] += 1
                if sigterm and not signalled[0] and done[0] >= sigterm[1]:
                    signalled[0] = True
                    os.kill(sigterm[0], signal.SIGTERM)

    begin = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - begin
    latencies.sort()
    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) if latencies else None
    print(json.dumps({"statuses": statuses, "runs": runs, "errors": errors[0], "seconds": round(seconds, 3),
                      "requests_per_second": round(len(latencies) / seconds, 1) if seconds else None,
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99)}))


if __name__ == "__main__":
    {"send": send, "load": load}[sys.argv[1]](sys.argv[2:])
