// Package tlsconf builds the crypto/tls configurations SwarmMQ uses on its
// client port, from PEM files: Server for a node (optionally with mutual
// TLS), Client for the client library and the command-line clients.
//
// It is a leaf package: it imports only the standard library, so the client
// library can use it without importing netio (and gnet). It owns no
// goroutines and keeps no state; each call reads its files and returns a
// new *tls.Config, which the caller owns.
//
// Every configuration it returns speaks TLS 1.3 only (MinVersion =
// tls.VersionTLS13). What is verified:
//
//	side     │ verifies                                       │ with
//	─────────┼────────────────────────────────────────────────┼──────────────────────────────
//	client   │ the node's chain, expiry, and that it names    │ caFile's pool (system roots
//	         │ the host dialled (or serverName)               │ when caFile is empty)
//	node     │ nothing about clients                          │ caFile empty
//	node     │ a client certificate, if one is presented      │ caFile, requireClientCert off
//	node     │ a client certificate, which must be presented  │ caFile, requireClientCert on
//
// Certificates for trying TLS locally come from cmd/swarm-certs (see
// docs/tls.md); certgen, below this package, generates them.
package tlsconf
