import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCapturePrerequisites } from '../../../backend-agent/src/capture/preflight.js';

const ROOT_CAPS = 'Name:\tnode\nCapEff:\t000001ffffffffff\n';
const NO_CAPS = 'Name:\tnode\nCapEff:\t0000000000000000\n';
const BPF_PERFMON = `CapEff:\t${((1n << 39n) | (1n << 38n)).toString(16).padStart(16, '0')}\n`;

test('root with BTF and a built loader may capture', () => {
  assert.equal(checkCapturePrerequisites({ loaderPath: '/l', btfPath: '/b', procStatus: ROOT_CAPS, exists: () => true }), undefined);
  assert.equal(checkCapturePrerequisites({ loaderPath: '/l', btfPath: '/b', procStatus: BPF_PERFMON, exists: () => true }), undefined);
});

test('each missing prerequisite is named in one line', () => {
  const noPriv = checkCapturePrerequisites({ loaderPath: '/l', btfPath: '/b', procStatus: NO_CAPS, exists: () => true });
  assert.match(noPriv ?? '', /^missing privilege: .*CAP_BPF and CAP_PERFMON/);
  const noBtf = checkCapturePrerequisites({ loaderPath: '/l', btfPath: '/b', procStatus: ROOT_CAPS, exists: (p) => p !== '/b' });
  assert.match(noBtf ?? '', /^missing BTF: \/b not found/);
  const noLoader = checkCapturePrerequisites({ loaderPath: '/l', btfPath: '/b', procStatus: ROOT_CAPS, exists: (p) => p !== '/l' });
  assert.match(noLoader ?? '', /^missing loader: \/l not built/);
  for (const line of [noPriv, noBtf, noLoader]) assert.ok(line && !line.includes('\n'));
});
