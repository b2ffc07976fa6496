import { startGraphEmulator } from './src/sandbox/graph/emulator';
import { GraphSession } from './src/connectors/graph/graph-session';
import { graphSandboxCustomers } from './test/support/graph-sandbox';
(async () => {
  const emu = await startGraphEmulator();
  const { contoso, secrets } = graphSandboxCustomers(emu);
  const s = new GraphSession(contoso, secrets);
  try {
    const r = await s.get('/v1.0/users/adele.vance@contoso.com', { source: 'x', op: { does: 'read', permissions: [] } });
    console.log(r.status, r.data);
    const p = await s.getAllPages('/v1.0/auditLogs/signIns', { source: 'x', op: { does: 'read', permissions: [] }, query: { $top: 100 } });
    console.log(p.items.length, p.pages);
  } catch (e) { console.error('ERR', e); }
  console.log(emu.state.tokens, emu.state.requests.map(r=>[r.method,r.path,r.status]));
  await emu.close();
})();
