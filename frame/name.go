package frame

// The names of destinations and groups are defined here, once: every
// other package (route, queue, seal, the stages, the client) uses these
// constants and functions rather than its own copy.

// MaxNameLen is the longest name a frame can carry, in bytes: a group
// name, or the name of a dead-letter destination.
const MaxNameLen = 255

// DeadLetterSuffix ends the name of a dead-letter destination: after
// max_deliver attempts a message of "q" moves to "q.dlq".
const DeadLetterSuffix = ".dlq"

// MaxDestinationLen is the longest name of a destination that can have a
// dead-letter destination, in bytes: its name plus [DeadLetterSuffix]
// must still fit in [MaxNameLen].
const MaxDestinationLen = MaxNameLen - len(DeadLetterSuffix)

// ValidName reports whether b is a valid group name: 1 to [MaxNameLen]
// bytes, each one of A-Z, a-z, 0-9, '.', '_' and '-'. Destinations have
// a tighter rule, [ValidDestination].
func ValidName(b []byte) bool {
	if len(b) == 0 || len(b) > MaxNameLen {
		return false
	}
	for _, c := range b {
		if !nameByte(c) {
			return false
		}
	}
	return true
}

// ValidDestination reports whether b is a valid destination name: a
// valid name ([ValidName]) of at most [MaxDestinationLen] bytes, or a
// dead-letter destination ([IsDeadLetter]) of up to [MaxNameLen] bytes.
// So the dead-letter destination of every destination a message can be
// dead-lettered from is itself a valid destination (dead-letter
// destinations are never dead-lettered).
func ValidDestination(b []byte) bool {
	return ValidName(b) && (len(b) <= MaxDestinationLen || IsDeadLetter(b))
}

// IsDeadLetter reports whether name ends in [DeadLetterSuffix].
func IsDeadLetter(name []byte) bool {
	n := len(name) - len(DeadLetterSuffix)
	return n >= 0 && string(name[n:]) == DeadLetterSuffix
}

// AppendDeadLetter appends the name of dest's dead-letter destination,
// dest + [DeadLetterSuffix], to dst and returns the extended slice.
func AppendDeadLetter(dst, dest []byte) []byte {
	return append(append(dst, dest...), DeadLetterSuffix...)
}

func nameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '.' || c == '_' || c == '-'
}
