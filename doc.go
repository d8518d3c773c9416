// Package hotline holds the domain of a government-service telephone hotline
// run under the first-inquiry responsibility rule (首问责任制): calls and their
// first-responsible agent, agents and their states, callback tasks for missed
// calls, promised replies, recordings, ratings, reviews and the audit log.
//
// The package imports nothing of this repository. Adapters live in
// subpackages, each wrapping one dependency: ari (Asterisk), store (SQLite),
// callback (Redis deadline index), recording (archive), web (HTTP).
package hotline
