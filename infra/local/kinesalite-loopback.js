#!/usr/bin/env node
// Starts kinesalite bound to one host address. kinesalite's own CLI has no --host flag and listens
// on every interface; the local stack must only listen on 127.0.0.1.
//
// Usage: NODE_PATH=<.local/node/node_modules> node kinesalite-loopback.js \
//          --host 127.0.0.1 --port 4567 [--createStreamMs 0 ...any other kinesalite option]
'use strict'

// Parse "--name value" pairs; numeric values become numbers, as kinesalite's CLI does.
const opts = {}
const args = process.argv.slice(2)
for (let i = 0; i < args.length; i++) {
  const m = /^--(.+)$/.exec(args[i])
  if (!m) {
    console.error('kinesalite-loopback: unexpected argument %j', args[i])
    process.exit(2)
  }
  const next = args[i + 1]
  if (next === undefined || next.startsWith('--')) {
    opts[m[1]] = true
    continue
  }
  opts[m[1]] = /^-?\d+(\.\d+)?$/.test(next) ? Number(next) : next
  i++
}
const host = opts.host || '127.0.0.1'
const port = Number(opts.port || 4567)

const server = require('kinesalite')(opts)
server.on('error', (err) => {
  console.error('kinesalite: %s', err.message)
  process.exit(1)
})
server.listen(port, host, () => {
  const a = server.address()
  console.log('kinesalite listening at http://%s:%s', a.address, a.port)
})
