-- A webhook with a wrong signature: wpk serve answers 401 without starting anything.
wrk.method = "POST"
wrk.body = '{"deployment": "web"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-WPK-Timestamp"] = tostring(os.time())
wrk.headers["X-WPK-Signature"] = "sha256=" .. string.rep("0", 64)
