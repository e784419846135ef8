package checkpoint

import (
	"fmt"
	"strings"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

// orderWidth exceeds the longest Kinesis sequence number (the API allows up to 129 digits).
const orderWidth = 130

// shardEndOrder sorts after every padded sequence number ('~' > '9').
const shardEndOrder = "~SHARD_END"

// Order returns the sortable form of a checkpoint value: sequence numbers left-padded with zeros
// to a fixed width, and SHARD_END after all of them, so that string order is checkpoint order.
func Order(checkpoint string) (string, error) {
	if checkpoint == chk.ShardEnd {
		return shardEndOrder, nil
	}
	if checkpoint == "" || len(checkpoint) > orderWidth {
		return "", fmt.Errorf("checkpoint %q: not a Kinesis sequence number", checkpoint)
	}
	for i := 0; i < len(checkpoint); i++ {
		if checkpoint[i] < '0' || checkpoint[i] > '9' {
			return "", fmt.Errorf("checkpoint %q: not a Kinesis sequence number", checkpoint)
		}
	}
	return strings.Repeat("0", orderWidth-len(checkpoint)) + checkpoint, nil
}
