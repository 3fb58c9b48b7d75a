//go:build creditgate_testhooks

package client

// SetPassHook sets the gate's pass hook (see passHook) until the returned
// function restores none.
func SetPassHook(f func()) (restore func()) {
	passHook = f
	return func() { passHook = nil }
}
