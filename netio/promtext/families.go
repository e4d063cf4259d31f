package promtext

// node describes the node's own metric families, by name. docs/metrics.md
// says more about each; test/e2e checks that a running node exposes every
// family here and nothing else of its own, and that the docs name each.
var node = map[string]entry{
	// Publish, deliver, ack (stages/ack, stages/fanout).
	"swarmmq_published_messages_total":   {Counter, "Messages stored and acknowledged to their producer."},
	"swarmmq_publish_duplicates_total":   {Counter, "Retried messages answered with their original seq and not stored again."},
	"swarmmq_publish_latency_seconds":    {Histogram, "Time from decoding a PUBLISH to its PUBLISH_ACK, including the fsync."},
	"swarmmq_errors_total":               {Counter, "Requests or messages answered with a wire error, by error code."},
	"swarmmq_deliveries_total":           {Counter, "Messages delivered in MESSAGES replies."},
	"swarmmq_redeliveries_total":         {Counter, "Deliveries with attempt > 1 (included in swarmmq_deliveries_total)."},
	"swarmmq_end_to_end_latency_seconds": {Histogram, "Time from the producer's timestamp to the first delivery of a message (two clocks)."},
	"swarmmq_fetch_latency_seconds":      {Histogram, "Time from decoding a FETCH answered at once with messages to its MESSAGES reply handed to the connection."},
	"swarmmq_acked_messages_total":       {Counter, "Messages whose ACK was made durable and answered ACK_OK."},
	"swarmmq_ack_latency_seconds":        {Histogram, "Time from decoding an ACK to its ACK_OK, including the fsync."},
	"swarmmq_nacked_messages_total":      {Counter, "Messages given back by NACK for redelivery."},
	"swarmmq_dead_lettered_total":        {Counter, "Messages moved to <destination>.dlq after max_deliver attempts."},
	"swarmmq_fanout_terminated_total":    {Counter, "Deliveries a consumer terminated with TERM (moved to <destination>.dlq with its reason)."},
	"swarmmq_fanout_progress_total":      {Counter, "Ack deadlines pushed out by PROGRESS."},

	// Destinations and groups (stages/fanout, refreshed every second).
	"swarmmq_destination_depth":                    {Gauge, "Messages retained by the destination."},
	"swarmmq_destination_bytes":                    {Gauge, "Payload bytes retained by the destination."},
	"swarmmq_destination_published_messages_total": {Counter, "Messages this node stored for the destination as its partition's leader (not duplicates), since it started."},
	"swarmmq_destination_published_bytes_total":    {Counter, "Wire bytes of those messages."},
	"swarmmq_group_lag":                            {Gauge, "Messages of the destination the consumer group has not finished (acked or dead-lettered)."},
	"swarmmq_group_pending":                        {Gauge, "Messages delivered to the consumer group and not yet acknowledged."},

	// Fanout (stages/fanout) and the message cache (stages).
	"swarmmq_fanout_parked_fetches":          {Gauge, "FETCH requests waiting for messages (long polls) now."},
	"swarmmq_fanout_backlogged_fetches":      {Gauge, "FETCH requests held back now because their connection leaves its replies unread."},
	"swarmmq_fanout_long_polls_total":        {Counter, "FETCH requests that had to wait for messages."},
	"swarmmq_fanout_records_applied_total":   {Counter, "Log records applied to the partitions."},
	"swarmmq_fanout_snapshots_total":         {Counter, "Partition snapshots written (each trims the log)."},
	"swarmmq_fanout_messages_from_log_total": {Counter, "Messages delivered by reading the log because they were not in the message cache."},
	"swarmmq_fanout_log_reads_total":         {Counter, "Log entries read to deliver messages not in the message cache."},
	"swarmmq_fanout_log_read_errors_total":   {Counter, "Log reads for delivery that failed (their messages are handed back)."},
	"swarmmq_fanout_too_large_total":         {Counter, "Deliveries not sent because the message exceeds the connection's max frame."},
	"swarmmq_message_cache_bytes":            {Gauge, "Bytes of retained messages held in memory."},
	"swarmmq_message_cache_limit_bytes":      {Gauge, "Bound of the message cache (performance.message_cache)."},

	// The stage graph (graph) and the stages before persist.
	"swarmmq_ring_depth":            {Gauge, "Items waiting on a ring between two stages, by edge."},
	"swarmmq_ring_capacity":         {Gauge, "Capacity of a ring between two stages, by edge."},
	"swarmmq_decode_frames_total":   {Counter, "Request frames decoded."},
	"swarmmq_decode_errors_total":   {Counter, "Request frame bodies that did not decode."},
	"swarmmq_verify_messages_total": {Counter, "Messages checked (CRC-32C, seal)."},
	"swarmmq_verify_rejected_total": {Counter, "Messages refused by the checks."},

	// Dedupe (stages/dedupe; the windows by partition from stages/fanout).
	"swarmmq_dedupe_hits_total":              {Counter, "Retried messages answered by the dedupe stage without a write."},
	"swarmmq_dedupe_ids":                     {Gauge, "Application message ids remembered, by partition."},
	"swarmmq_dedupe_ids_evicted_total":       {Counter, "Application ids dropped by dedupe_max before dedupe_window, by partition."},
	"swarmmq_dedupe_producers":               {Gauge, "Producer sessions remembered, by partition."},
	"swarmmq_dedupe_producer_keys":           {Gauge, "Messages remembered for producer sessions, by partition."},
	"swarmmq_dedupe_producers_evicted_total": {Counter, "Producer sessions dropped by max_producers or max_producer_keys before producer_idle, by partition."},

	// Persist (stages/persist).
	"swarmmq_persist_batches_total":   {Counter, "Log appends (group commits)."},
	"swarmmq_persist_records_total":   {Counter, "Records written by the log appends."},
	"swarmmq_persist_batch_requests":  {Histogram, "Requests per group commit."},
	"swarmmq_persist_commit_seconds":  {Histogram, "Time of a group commit from append to durable."},
	"swarmmq_persist_failures_total":  {Counter, "Failed appends or syncs (each answered STORAGE)."},
	"swarmmq_persist_abandoned_total": {Counter, "PUBLISH requests not written because their connection had closed."},
	"swarmmq_persist_disk_full_total": {Counter, "PUBLISH requests not written because the disk is nearly full (answered DISK_FULL)."},

	// The log (wal).
	"swarmmq_wal_disk_free_bytes":      {Gauge, "Free bytes of the data directory's file system at the last check."},
	"swarmmq_wal_disk_full":            {Gauge, "1 while the node refuses new messages for want of disk space, else 0."},
	"swarmmq_wal_no_space_total":       {Counter, "Writes of the log that met ENOSPC."},
	"swarmmq_wal_sync_seconds":         {Histogram, "Duration of each fsync of a WAL file."},
	"swarmmq_wal_append_batches_total": {Counter, "Batches written to the log."},
	"swarmmq_wal_append_entries_total": {Counter, "Records written to the log."},
	"swarmmq_wal_append_bytes_total":   {Counter, "Record bytes written to the log."},
	"swarmmq_wal_errors_total":         {Counter, "Write, sync and corruption errors of the log."},
	"swarmmq_wal_interval_syncs_total": {Counter, "Completed syncs of the fsync: interval syncer."},

	// Connections (netio).
	"swarmmq_netio_connections":                {Gauge, "Open client connections (TLS and plaintext)."},
	"swarmmq_netio_accepted_total":             {Counter, "Client connections accepted."},
	"swarmmq_netio_closed_total":               {Counter, "Client connections closed."},
	"swarmmq_netio_frames_in_total":            {Counter, "Frames received from clients."},
	"swarmmq_netio_bytes_in_total":             {Counter, "Bytes received from clients."},
	"swarmmq_netio_bytes_out_total":            {Counter, "Bytes sent to clients."},
	"swarmmq_netio_protocol_errors_total":      {Counter, "Connections closed for a protocol error."},
	"swarmmq_netio_slow_consumers_total":       {Counter, "Connections closed with SLOW_CONSUMER."},
	"swarmmq_netio_write_stalls_total":         {Counter, "Connections closed because their replies made no write progress for write_stall_timeout."},
	"swarmmq_netio_flow_control_total":         {Counter, "Requests refused with FLOW_CONTROL (beyond the credits granted)."},
	"swarmmq_netio_buffered_bytes":             {Gauge, "Bytes held for clients, by kind: inbound, pipeline, outbound."},
	"swarmmq_netio_buffered_limit_bytes":       {Gauge, "Bound of the pipeline and outbound bytes (performance.max_buffered)."},
	"swarmmq_netio_byte_waits_total":           {Counter, "Times a connection's requests were made to wait for bytes."},
	"swarmmq_netio_penalized_refused_total":    {Counter, "Connections refused because their IP address is penalized after FLOW_CONTROL."},
	"swarmmq_netio_refused_per_ip_total":       {Counter, "Connections refused because their IP address had max_connections_per_ip open."},
	"swarmmq_netio_tls_handshake_errors_total": {Counter, "Failed TLS handshakes."},
}

// cluster describes the families a node exposes only as a member of a
// cluster of several nodes (docs/cluster.md); NodeNames leaves them out.
var cluster = map[string]entry{
	// Node-to-node links (cluster/peer), by peer.
	"swarmmq_peer_sent_bytes_total":         {Counter, "Bytes written to the peer link, frame headers included."},
	"swarmmq_peer_sent_frames_total":        {Counter, "Frames written to the peer link."},
	"swarmmq_peer_received_bytes_total":     {Counter, "Bytes read from the peer link, frame headers included."},
	"swarmmq_peer_received_frames_total":    {Counter, "Frames read from the peer link."},
	"swarmmq_peer_dropped_frames_total":     {Counter, "Frames to the peer dropped: its queue was full or the link down (raft sends again)."},
	"swarmmq_peer_reconnects_total":         {Counter, "Links to the peer established after the first."},
	"swarmmq_peer_last_contact_seconds":     {Gauge, "Unix time of the last frame received from the peer."},
	"swarmmq_peer_connected":                {Gauge, "1 while the link to the peer is up, else 0."},
	"swarmmq_peer_queued_bytes":             {Gauge, "Bytes queued for the peer link, not yet written."},
	"swarmmq_peer_handshakes_refused_total": {Counter, "Peer handshakes refused (another cluster, partition count, unknown or duplicate node)."},

	// The raft partition log (cluster/rlog).
	"swarmmq_raft_proposals_total":              {Counter, "Records proposed to raft by this node (as a partition's leader)."},
	"swarmmq_raft_proposals_failed_total":       {Counter, "Proposals answered NOT_LEADER: not led here, lost in a leader change, dropped by raft."},
	"swarmmq_raft_not_leader_total":             {Counter, "Proposals refused before raft because this node does not lead the partition."},
	"swarmmq_raft_commits_total":                {Counter, "Committed entries handed to fanout (all partitions replicated here)."},
	"swarmmq_raft_snapshots_restored_total":     {Counter, "Partition states replaced by a raft snapshot (at start, or sent by a leader)."},
	"swarmmq_raft_leader_changes_total":         {Counter, "Changes of a partition's leader (or term) this node learnt of."},
	"swarmmq_raft_elections_won_total":          {Counter, "Partition leaderships this node won."},
	"swarmmq_raft_apply_lag_entries":            {Gauge, "Committed entries not yet handed to fanout, summed over the partitions replicated here."},
	"swarmmq_raft_messages_sent_total":          {Counter, "Raft messages queued on a peer link."},
	"swarmmq_raft_messages_dropped_total":       {Counter, "Raft messages not sent: link down, queue full, or unknown peer (raft sends again)."},
	"swarmmq_raft_messages_received_total":      {Counter, "Raft messages received from peers and stepped into their group."},
	"swarmmq_raft_messages_refused_total":       {Counter, "Received RAFT frames that did not decode or came from another node than their sender."},
	"swarmmq_raft_messages_stale_total":         {Counter, "Received raft messages dropped as meant for, or sent by, an earlier incarnation of a node."},
	"swarmmq_raft_conf_changes_total":           {Counter, "Membership changes (conf change entries) applied: a replica replaced by its node's new incarnation."},
	"swarmmq_raft_incarnation":                  {Gauge, "This member's incarnation: 0 when it created the cluster, one more at each start on a wiped data directory."},
	"swarmmq_raft_snapshots_sent_total":         {Counter, "Raft snapshots (state and the records it points at) sent to lagging replicas."},
	"swarmmq_raft_snapshot_send_failures_total": {Counter, "Raft snapshots that could not be queued on their link (reported to raft, which retries)."},

	// Forwarding (cluster/forward).
	"swarmmq_forward_requests_total": {Counter, "Client requests for partitions led elsewhere, by result: ok (answered by the leader), failed (answered NOT_LEADER after trying), declined (answered NOT_LEADER at once)."},
	"swarmmq_forward_in_flight":      {Gauge, "Client requests forwarded to their leader and not yet answered."},
	"swarmmq_forward_served_total":   {Counter, "Requests other nodes forwarded here, by result: accepted into the pipeline, or refused."},
}
