// An OTLP/HTTP endpoint that reads each request whole and answers 200 without parsing it: a
// collector that costs as little as one can. A process of its own, so the bench can place it on
// a CPU (TRACE_BENCH_COLLECTOR=discard): its ingest then does not come out of the CPU the API
// server and the load generator share, as a real collector elsewhere would not.
// Prints {"port":N} on stdout once listening; GET /stats answers {"requests":N,"bytes":N}.
import http from 'node:http';

const sink = { requests: 0, bytes: 0 };
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sink));
    return;
  }
  req.on('data', (c) => { sink.bytes += c.length; });
  req.on('end', () => { sink.requests++; res.writeHead(200, { 'content-type': 'application/json' }).end('{}'); });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
