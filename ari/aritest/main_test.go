package aritest

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a test starts must end with it: a background loop left
// running is a connection or a call that was not stopped.
//
// One exception: the tests that drive the fake with ari/v5's own client
// (conformance) close it after the fake, and the library's listen loop
// (client/native/client.go, v5.3.1) then sleeps a second after a failed
// dial before it looks at its cancelled context: it ends by itself a
// second later, after the check. Our client (hotline/ari) has no such
// loop, and package ari checks it with no exception.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/CyCoreSystems/ari/v5/client/native.(*Client).listen"))
}
