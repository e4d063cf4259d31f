package frame

import (
	"encoding/binary"
	"math"
)

// AppendError appends a whole ERROR frame; corr is the failed request's, or
// 0 when the error concerns the connection rather than one request. A msg
// longer than 65535 bytes is cut.
func AppendError(dst []byte, corr uint64, code Code, msg string) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeError, corr)
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	if len(msg) > math.MaxUint16 {
		msg = msg[:math.MaxUint16]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	dst = append(dst, msg...)
	PatchLength(dst, start)
	return dst
}

// DecodeError decodes an ERROR body into its code and message; msg is a
// view into body, valid as long as body is not modified or reused. Codes
// this version does not know are returned as they are. To get a Go error,
// build &Error{Code: code, Msg: string(msg)}. Errors have CodeMalformed.
func DecodeError(body []byte) (code Code, msg []byte, err error) {
	r := reader{b: body}
	code = Code(r.u16())
	msg = r.str()
	if err := r.end(); err != nil {
		return 0, nil, err
	}
	return code, msg, nil
}
