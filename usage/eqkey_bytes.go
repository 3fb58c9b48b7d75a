//go:build !(amd64 || arm64 || 386 || ppc64le || ppc64 || s390x)

package usage

// eqKey is a == b (see eqkey_words.go).
func eqKey(a, b string) bool { return a == b }
