module agentservice.local/tests/testbed/echo

go 1.24.0
