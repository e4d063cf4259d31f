// Package dedupe is the stage that answers retried publishes without
// storing them again.
//
// For every message still open in a PUBLISH it looks the message id up in
// its partition's dedupe window (queue.Window, filled by fanout as records
// are applied, and rebuilt from the log at start). A hit resolves the
// message with the original sequence number and the duplicate flag, so a
// retry after a lost ack costs no write. A retry that races its original
// through the pipeline is caught by the partition state machine itself when
// it applies the record, so it is never stored twice either way.
//
// One goroutine (work.Runner); other requests pass through in order.
package dedupe
