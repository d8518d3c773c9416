package ari

import "strconv"

func itoa(i int) string { return strconv.Itoa(i) }

// Admit is admit, for tests: why a new call would be refused now.
func (s *Calls) Admit() string { return s.admit() }
