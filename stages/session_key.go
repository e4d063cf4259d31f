package stages

// sessionKey returns the key of producer session tokens: Options.ProducerKey
// (a cluster's, shared by every node) or else the secret of the data
// directory (a single node's; nil when it could not be read, which turns
// producer sessions off).
func (n *Node) sessionKey() []byte {
	if len(n.opts.ProducerKey) > 0 {
		return n.opts.ProducerKey
	}
	return n.producerKey
}
