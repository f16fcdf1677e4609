// Package telegram is Flare's Telegram channel: a bot that takes a report
// from a source in a private chat, seals it through the gateway, and can
// leave nothing behind on the source's phone.
//
// Reach for New with a Config (DefaultConfig, then the settings a
// deployment gives; the channel is on when a bot token is set) and the
// gateway's channels.Deps, then serve Routes and call Run. Run checks the
// token, then long-polls getUpdates (the default: it needs no public
// address, so a gateway behind Tor or a home router can run it), or, with
// Mode "webhook", registers the webhook with a secret_token and waits for
// POST /webhooks/telegram.
//
// A conversation goes /start → language → what this is about → any mix
// of text, photos, files, voice notes and a location → Send. Every button
// has a typed equivalent (/lang <code>, /send, /cancel), and content sent
// without pressing anything starts a draft with defaults, so "/start,
// anything, /send" always files a tip. Each chat is handled by its own
// goroutine, in order; media are fetched with getFile and streamed into
// sealed attachments as they arrive. A draft lives in memory only; when its
// source goes quiet, or the gateway stops, a draft with something in it is
// sealed as it is, never dropped. Once a tip is sealed (or discarded), the
// bot deletes every message of the conversation, both directions; the
// receipt can delete itself later. With a code word set, a chat that does
// not send it (or open t.me/<bot>?start=<code word>) only ever talks to a
// dull houseplant bot.
//
// Every text a source sees comes from the catalog (keys "telegram.*"),
// and the defaults say nothing about what the bot is for.
//
// What it deliberately does not do: keep anything about a source outside
// the sealed tip. Chat ids, user ids, names, user names and phone numbers
// go only into Tip.Sender and Tip.Reply; rate limits and update
// deduplication use the deployment's keyed hash; message ids to delete
// are held in memory and lost with it. It does not talk in groups or
// channels (it leaves them), does not answer inline queries, and does not
// trust a deep-link payload as anything more than the code word.
//
// Drafts live in the memory of the gateway that receives a chat's
// updates, so one bot is served by one gateway instance: long polling
// allows no other (Telegram refuses a second poller), and in webhook mode
// a load balancer must send /webhooks/telegram to a single instance.
// Update deduplication, by contrast, goes through the shared queue
// (Queue.Remember), so a retried update that reaches another instance
// after a failover is still handled once.
//
// It builds on github.com/go-telegram-bot-api/telegram-bot-api/v5 v5.5.1
// and works around what that version lacks: the webhook handler is its own
// (the secret header compared in constant time before the body is read,
// the body bounded), secret_token is sent by hand, every call carries a
// context, errors are stripped of the request URL, and the file download
// URL, which holds the bot token, never reaches a log or an error.
package telegram
