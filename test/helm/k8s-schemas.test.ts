/**
 * Every values profile (the defaults and helm/captioner/ci/*.yaml) rendered for the oldest Kubernetes
 * version the chart supports and for the newest one kubernetes-validate (PyPI, pinned in
 * tools/k8s-validate/requirements.txt) knows, and each built-in object validated against that version's
 * schemas with --strict (unknown fields refused). The custom resources (KEDA, Prometheus Operator) have
 * no schema there: chart-variants.test.ts checks them field by field.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import {
  CHART,
  helmBin,
  kubernetesValidate,
  kubernetesValidateBin,
  readProjectFile,
  templateRaw,
  type ValuesInput,
} from './helm-harness';

const PROFILES = ['(default values)', ...readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'))];
const CUSTOM_KINDS = new Set(['ScaledObject', 'TriggerAuthentication', 'ServiceMonitor']);

/** The chart's floor (Chart.yaml kubeVersion ">=X.Y.Z-0"). */
function oldestSupported(): string {
  const chart = parseYaml(readProjectFile('helm/captioner/Chart.yaml')) as { kubeVersion: string };
  const m = /^>=\s*(\d+\.\d+\.\d+)/.exec(chart.kubeVersion);
  assert.ok(m, `Chart.yaml kubeVersion ${chart.kubeVersion} has no lower bound`);
  return m[1];
}

/** kubernetes-validate's releases follow Kubernetes': its version is the newest schema it ships. */
function newestKnown(): string {
  const m = /^kubernetes-validate==(\d+\.\d+\.\d+)$/m.exec(
    readProjectFile('tools/k8s-validate/requirements.txt'),
  );
  assert.ok(m, 'kubernetes-validate is not pinned in tools/k8s-validate/requirements.txt');
  return m[1];
}

function inputOf(profile: string, kubeVersion: string): ValuesInput {
  return profile.startsWith('(') ? { kubeVersion } : { files: [profile], kubeVersion };
}

before(() => {
  helmBin();
  kubernetesValidateBin();
});

describe('rendered manifests are valid Kubernetes objects (kubernetes-validate --strict)', () => {
  const oldest = oldestSupported();
  const newest = newestKnown();

  test('two distinct versions are checked: the chart floor and the newest known', () => {
    assert.match(oldest, /^1\.\d+\.\d+$/);
    const [, oMinor] = oldest.split('.').map(Number);
    const [, nMinor] = newest.split('.').map(Number);
    assert.ok(nMinor > oMinor, `newest ${newest} is not above the floor ${oldest}`);
  });

  test('the check has teeth: an unknown field in a pod spec is refused', () => {
    const r = templateRaw({
      values: [{ api: { sidecars: [{ name: 'side', image: 'busybox', imagePullPolcy: 'Always' }] } }],
      kubeVersion: newest,
    });
    assert.equal(r.status, 0, r.stderr);
    const v = kubernetesValidate(r.stdout, newest);
    assert.notEqual(v.status, 0, 'kubernetes-validate accepted a misspelt field');
    assert.match(v.stdout + v.stderr, /imagePullPolcy/);
  });

  for (const profile of PROFILES) {
    for (const which of ['oldest', 'newest'] as const) {
      test(`${profile} on the ${which} version`, () => {
        let version = which === 'oldest' ? oldest : newest;
        let r = templateRaw(inputOf(profile, version));
        if (which === 'oldest' && r.status !== 0) {
          // A profile may need a newer cluster than the chart's floor (image volumes): the chart says
          // so itself, and the profile is then checked on the version it names.
          const need = /needs Kubernetes >= (\d+\.\d+)/.exec(r.stderr);
          assert.ok(need, `helm template failed on ${version}:\n${r.stderr}`);
          version = `${need[1]}.0`;
          r = templateRaw(inputOf(profile, version));
        }
        assert.equal(r.status, 0, `helm template failed on ${version}:\n${r.stderr}`);
        const v = kubernetesValidate(r.stdout, version);
        const out = v.stdout + v.stderr;
        assert.equal(v.status, 0, `kubernetes-validate ${version} failed:\n${out}`);
        const passed = out.split('\n').filter((l) => l.startsWith('INFO') && / passed /.test(l));
        assert.ok(passed.length >= 6, `too few objects validated:\n${out}`);
        for (const line of out.split('\n').filter((l) => /^(WARN|ERROR)/.test(l))) {
          const kind = /schema for kind (\w+) /.exec(line)?.[1];
          assert.ok(kind !== undefined && CUSTOM_KINDS.has(kind), `unexpected: ${line}`);
        }
      });
    }
  }
});
