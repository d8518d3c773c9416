// Package recording will hold the archive of finished call recordings:
// fetching each file from Asterisk, hashing it (SHA-256), streaming it to
// supervisors with audited access, and retention. Calls are already recorded
// by package ari (one bridge recording per call, named after the call id).
package recording
