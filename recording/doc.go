// Package recording is the archive of finished call recordings (clause
// 7.1.3): fetching each file from Asterisk, hashing it (SHA-256), streaming
// it with audited access, retention, supervisors' reviews and the audit
// chain check. Calls are recorded by package ari (one bridge recording per
// call, named after the call id; callbacks and reply calls under their
// attempt's name).
//
// Wiring, for the service:
//
//	arch, err := recording.NewArchiver(cfg.Recordings, recording.Deps{DB: db, ARI: ..., Logger: log, Registerer: reg})
//	arch.Start(ctx)             // background archive loop; arch.Stop() on shutdown
//	arch.Finished(ctx, name, callID, at) // on every RecordingFinished (callID "" for callbacks/replies)
//	ret, err := recording.NewRetention(cfg.Recordings, deps) // ret.Start(ctx) / ret.Stop()
//	player := recording.NewPlayer(cfg.Recordings, deps)      // web.Deps.Recordings
//	reviews := recording.NewReviews(deps)                    // web.Deps.Reviews
//	recording.VerifyAudit(ctx, db, os.Stdout)                // `hotline audit verify`
package recording
