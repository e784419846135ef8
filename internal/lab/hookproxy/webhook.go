package hookproxy

import "flag"

// Defaults of Webhook: the local stack's (infra/local/stack.sh).
const (
	DefaultAddr      = "127.0.0.1:8085"
	DefaultNotifyARN = "arn:minio:sqs::SHARDLINE:webhook"
)

// Webhook is where the local stack's MinIO posts the input bucket's notifications: the demo,
// the chaos harness and the bench embed it in their configurations.
type Webhook struct {
	// WebhookAddr is where MinIO posts notifications (a harness's proxy listens there). Default
	// DefaultAddr.
	WebhookAddr string
	// NotifyARN is MinIO's queue ARN of that webhook target. Default DefaultNotifyARN.
	NotifyARN string
}

// Defaults fills the empty fields with their defaults.
func (w *Webhook) Defaults() {
	if w.WebhookAddr == "" {
		w.WebhookAddr = DefaultAddr
	}
	if w.NotifyARN == "" {
		w.NotifyARN = DefaultNotifyARN
	}
}

// Flags registers --webhook-addr and --notify-arn on fs, with the defaults.
func (w *Webhook) Flags(fs *flag.FlagSet) {
	fs.StringVar(&w.WebhookAddr, "webhook-addr", DefaultAddr, "address MinIO's webhook target posts to")
	fs.StringVar(&w.NotifyARN, "notify-arn", DefaultNotifyARN, "MinIO queue ARN of the webhook target")
}
