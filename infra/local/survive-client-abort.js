// Preloaded (node --require) into kinesalite and dynalite. Both attach
// `req.on('error', err => { throw err })` to every request, so a client that goes away in the
// middle of a request body (a worker killed mid-call, a connection reset by a fault proxy)
// raises an uncaught "aborted" error and ends the whole server: every later call is refused.
// AWS never goes down because one client hung up. This handler drops exactly that error (the
// aborted request had no effect: its body never arrived) and keeps Node's behaviour, print
// and exit 1, for anything else.
'use strict'

process.on('uncaughtException', (err) => {
  if (err && err.code === 'ECONNRESET' && err.message === 'aborted') {
    console.error('client aborted a request mid-body: request dropped, server continues')
    return
  }
  console.error(err)
  process.exit(1)
})
