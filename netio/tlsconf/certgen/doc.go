// Package certgen makes development certificates: a self-signed CA and the
// server and client certificates it signs (ECDSA P-256, SHA-256), for tests
// that need TLS at run time and for trying TLS locally (cmd/swarm-certs).
//
// It is not a production PKI: no revocation, no key protection beyond file
// modes, CA keys kept in memory and in plain files. Like its parent it
// imports only the standard library, owns no goroutines and keeps no
// state. Randomness comes from crypto/rand; time is passed in (Validity).
package certgen
