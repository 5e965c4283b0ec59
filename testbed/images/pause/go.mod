module agentservice.local/testbed/pause

go 1.24.0
