package main

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a test starts must end with it: the processes the tests
// start are waited for, and their output readers end with them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
