// Package keyfile reads and writes keyring files: the file side of package
// seal, for the commands (node --gen-keyring, --key-file of the client
// commands) and for the node's start-up.
//
// The format is seal.ParseKeyring's (YAML; docs/sealing.md):
//
//	current: 1
//	keys:
//	  - id: 1
//	    key: hex:<64 hex digits>
//
// A keyring file holds secrets: Generate creates it with mode 0600 and
// never overwrites a file, and Read warns when the mode lets anyone but
// the owner read or write it.
//
// # Goroutines and concurrency
//
// keyfile owns no goroutines and keeps no state; its functions are safe
// for concurrent use (on different paths when one of them writes). It does
// blocking file I/O on the calling goroutine, so call it at start-up, not
// on a hot path.
package keyfile
