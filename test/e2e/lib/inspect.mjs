// Self-check for `scripts/run.sh --inspect`: starts the server the way an MCP client would
// (stdio, `serve`), lists its tools and the cluster's namespaces, prints them.
// Env: MCPK_BIN (server binary), KUBECONFIG.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const bin = process.env.MCPK_BIN;
if (!bin) {
  console.error('MCPK_BIN is not set');
  process.exit(2);
}
const transport = new StdioClientTransport({
  command: bin,
  args: ['serve'],
  env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: process.env.KUBECONFIG || '' },
  stderr: 'inherit',
});
const client = new Client({ name: 'mcpk-inspect', version: '1.0.0' }, { capabilities: {} });
try {
  await client.connect(transport);
  const info = client.getServerVersion();
  const { tools } = await client.listTools();
  console.log(`server ${info.name} ${info.version}, ${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`);
  const r = await client.callTool({ name: 'k8s_list_resources', arguments: { resourceType: 'namespaces' } });
  const text = (r.content ?? []).map((c) => c.text ?? '').join('');
  if (r.isError) throw new Error(`k8s_list_resources failed: ${text}`);
  console.log('namespaces:');
  console.log(text.trimEnd());
} catch (e) {
  console.error(`self-check failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
