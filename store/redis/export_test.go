package redis

// ServerAddr is the address of the tests' redis-server, for the examples.
func ServerAddr() string { return shared.addr() }
