package conf

import (
	"fmt"
	"strings"
)

// Summary describes the resolved config from this node's side, for
// --check-config: the cluster, this node's addresses and files, its peers.
// It expects a config that passed Validate.
func (c *Config) Summary() string {
	m := c.Membership()
	var b strings.Builder
	if m.Clustered() {
		fmt.Fprintf(&b, "cluster %s: %d nodes, %s, replication factor %d\n",
			m.Name, len(m.Peers)+1, plural(m.Partitions, "partition"), m.ReplicationFactor)
	} else {
		fmt.Fprintf(&b, "cluster %s: a single node, %s\n", m.Name, plural(m.Partitions, "partition"))
	}
	fmt.Fprintf(&b, "this node: %s\n", m.Self.ID)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(&b, "  %-9s%s\n", k, fmt.Sprintf(format, args...))
	}
	if m.Self.Client == c.ClientAddr() {
		row("client", "%s", m.Self.Client)
	} else {
		row("client", "%s (listening on %s)", m.Self.Client, c.ClientAddr())
	}
	if m.Self.Peer != "" {
		row("peer", "%s", m.Self.Peer)
	}
	row("http", "%s", c.Node.HTTPAddr)
	row("data", "%s", c.Node.DataDir)
	sec := c.Security
	if sec.Keyring == "" {
		row("keyring", "none (unsealed mode)")
	} else {
		row("keyring", "%s", sec.Keyring)
	}
	switch {
	case sec.TLSCert == "":
		row("tls", "off")
	case sec.TLSCA == "":
		row("tls", "cert %s, key %s", sec.TLSCert, sec.TLSKey)
	default:
		row("tls", "cert %s, key %s, ca %s, client_auth %t", sec.TLSCert, sec.TLSKey, sec.TLSCA, sec.ClientAuth)
	}
	if sec.PeerCA != "" {
		row("peer ca", "%s", sec.PeerCA)
	}
	if m.Clustered() {
		b.WriteString("peers:\n")
	}
	for _, p := range m.Peers {
		fmt.Fprintf(&b, "  %-9sclient %s  peer %s", p.ID, p.Client, p.Peer)
		if p.HTTP != "" {
			fmt.Fprintf(&b, "  http %s", p.HTTP)
		}
		b.WriteString("\n")
	}
	return b.String()
}
