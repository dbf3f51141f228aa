#!/usr/bin/env python3
"""Writes a wrk script that sends COUNT distinct, correctly signed webhook requests (each once:
the server refuses replays), so wrk can measure accepted webhooks. Usage: KEY COUNT > signed.lua"""
import hashlib
import hmac
import json
import sys
import time

key, count = sys.argv[1].encode(), int(sys.argv[2])
timestamp = str(int(time.time()))
print("local requests = {")
for index in range(count):
    body = json.dumps({"deployment": "web", "n": index})
    signature = "sha256=" + hmac.new(key, (timestamp + ".").encode() + body.encode(), hashlib.sha256).hexdigest()
    print('{"%s","%s",%s},' % (timestamp, signature, json.dumps(body)))
print("""}
local sent = 0
-- One wrk thread (-t1): its connections share this counter, so no request is sent twice until
-- the list runs out (then the last one repeats, answered 409, and wrk counts it as non-2xx).
request = function()
  sent = sent + 1
  local r = requests[math.min(sent, #requests)]
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-WPK-Timestamp"] = r[1], ["X-WPK-Signature"] = r[2]}, r[3])
end""")
