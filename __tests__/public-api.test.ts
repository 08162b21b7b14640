// The library's public API is what lib/index.ts exports. Changing it must be a deliberate edit of
// this list: an internal helper that leaks into the index, or a construct that drops out, fails here.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as lib from '../lib';
import { REPO } from './support/fixtures';

// Values: classes, enums and constants that exist at run time.
const VALUES = [
  'APACHE_EXPORTER_DEFAULT_IMAGE', 'APACHE_EXPORTER_PORT', 'AntiAffinity', 'AntiAffinityMode', 'ClaimSource', 'DeployerAccess', 'ExposureType', 'GatewayRoute', 'IngressController',
  'IngressRule', 'IngressTls', 'IssuerKind', 'IstioCanary', 'MARIADB_DEFAULT_IMAGE', 'MYSQLD_EXPORTER_DEFAULT_IMAGE', 'MYSQLD_EXPORTER_PORT', 'OpenShiftRoute', 'TlsMode', 'Track', 'MariaDbBackup', 'MariaDbRestore', 'MariaDbStatefulSet', 'NamespaceQuota',
  'NodeAffinityOperator', 'SiteMonitoring', 'SiteNetworkPolicies', 'StorageClaims', 'Topology', 'WORDPRESS_DEFAULT_IMAGE',
  'WORDPRESS_KEY_NAMES', 'WebAccess', 'WhenUnsatisfiable', 'WordPressApp', 'WordPressChart', 'WordPressCron',
];

// Types only: props interfaces and the types they refer to.
const TYPES = [
  'AntiAffinityOptions', 'AntiAffinityProps', 'BackupRetention', 'CanaryBackend', 'ClaimOptions', 'GatewayRef', 'GatewayRouteProps',
  'IstioCanaryProps', 'OpenShiftRouteProps', 'ComponentIdentity', 'DatabaseClient',
  'DeployerAccessProps', 'EnvironmentConfig', 'IAffinityTarget', 'IClientTrackingServer', 'IDatabaseConnection',
  'IHttpBackend', 'IngressRuleProps', 'MariaDbBackupProps', 'MariaDbCredentials', 'MariaDbGalera', 'MariaDbMetrics', 'MariaDbRestoreProps', 'MetricsService', 'MetricsTarget',
  'MariaDbReplication', 'MariaDbStatefulSetProps', 'NamespaceQuotaProps', 'NamespacedPods', 'NfsVolumeOptions', 'NodeAffinityRule',
  'PhpSettings', 'ProbeSettings', 'ProbeTimings', 'ResolvedMariaDbCredentials', 'ResolvedMariaDbGalera', 'ResolvedMariaDbReplication', 'ResourceSpec', 'SiteConfig',
  'SiteMonitoringProps', 'SiteNetworkPoliciesProps', 'StorageClaim', 'StorageClaimsProps', 'TopologySpread', 'WordPressAppProps', 'WordPressAutoscaling', 'WordPressChartProps', 'WordPressMetrics', 'WordPressCronProps',
];

const INDEX = path.join(REPO, 'lib', 'index.ts');
// Only lib/ itself: what it exports and documents is read off its own files, so the program need
// not parse cdk8s's, cdk8s-plus-27's and imports/' declarations (3 MB) as `tsc --noEmit` does.
const LIB_FILES = fs.readdirSync(path.join(REPO, 'lib'), { recursive: true, encoding: 'utf8' }).filter(f => f.endsWith('.ts')).map(f => path.join(REPO, 'lib', f));
const program = ts.createProgram(LIB_FILES, { strict: true, skipLibCheck: true, noEmit: true, noResolve: true, noLib: true, types: [] });
const checker = program.getTypeChecker();
const apiExports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!);

/** Every name lib/index.ts exports, types included, as the compiler sees the module. */
function exportedNames(): string[] {
  return apiExports.map(s => s.getName()).sort();
}

/**
 * `Name` or `Name.member` of every export, and of each public member it declares itself (not those
 * inherited from cdk8s or constructs), that has no doc comment for docs/api.md.
 */
function undocumented(): string[] {
  const hasDoc = (s: ts.Symbol) => s.getDocumentationComment(checker).some(part => part.text.trim() !== '');
  const isPublicMember = (m: ts.Symbol) => {
    const decl = m.valueDeclaration ?? m.declarations?.[0];
    if (!decl || m.flags & (ts.SymbolFlags.Constructor | ts.SymbolFlags.TypeParameter) || m.getName() === 'prototype') return false;
    return !(ts.getCombinedModifierFlags(decl as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
  };
  const missing: string[] = [];
  for (const exported of apiExports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.getName();
    if (!hasDoc(symbol)) missing.push(name);
    const members = [...(symbol.members?.values() ?? []), ...(symbol.exports?.values() ?? [])].filter(isPublicMember);
    for (const m of members) if (!hasDoc(m)) missing.push(`${name}.${m.getName()}`);
  }
  return missing.sort();
}

test('the run-time exports are exactly the constructs, enums and constants listed', () => {
  expect(Object.keys(lib).sort()).toEqual([...VALUES].sort());
});

test('the exported names, types included, are exactly the listed API', () => {
  expect(exportedNames()).toEqual([...VALUES, ...TYPES].sort());
});

test('the five constructs the library is for are classes of the index', () => {
  for (const name of ['WordPressApp', 'MariaDbStatefulSet', 'StorageClaims', 'IngressRule', 'AntiAffinity'] as const) {
    expect(typeof lib[name]).toBe('function');
  }
});

test('every export and each public member it declares has a doc comment', () => {
  expect(undocumented()).toEqual([]);
});
