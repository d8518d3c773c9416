package ari_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a test starts must end with it: a background loop left
// running is a connection or a call that was not stopped.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
