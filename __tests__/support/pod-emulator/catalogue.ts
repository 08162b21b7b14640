// Pod emulator: the image catalogue. Data about images, keyed by image repository and tag: which
// reference Dockerfile defines the image (its ENV, ENTRYPOINT, CMD, WORKDIR and STOPSIGNAL are read
// from it and from its bases; the exporter images, which have none here, state upstream's), which
// users it has, and how to lay out its filesystem from this machine's Debian packages the way its
// Dockerfile does. Nothing here is about a chart.
//
// The reference files (/work/shared/reference/images, or `<project>/../shared/reference/images`)
// are used as they are: entrypoints are copied byte for byte into the image layer and run.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO } from '../fixtures';
import { BASE_IMAGE_CONFIG, echoBlock, ImageConfig, imageConfig } from './dockerfile';
import { cachedLayer, debianBase, ImageUser, Layer } from './layers';

/** Where the verbatim reference files of the images live. */
export const REFERENCE_IMAGES = process.env.POD_EMULATOR_REFERENCE ?? path.resolve(REPO, '..', 'shared', 'reference', 'images');

export interface ImageInfo {
  /** The image reference as written in the pod spec. */
  readonly image: string;
  readonly repository: string;
  readonly tag: string;
  /** Reference folder of the Dockerfile that defines it, or where its upstream Dockerfile is (none is copied here). */
  readonly reference: string;
  readonly entrypoint: string[];
  readonly cmd: string[];
  /** Image ENV plus what the emulation needs to make Debian's binaries use the image's paths. */
  readonly env: Record<string, string>;
  /** The variables in `env` that the image does not declare, with why the emulation sets them. */
  readonly emulationEnv: Record<string, string>;
  readonly workingDir: string;
  readonly stopSignal: string;
  /** The image's USER (root when the Dockerfile has none). */
  readonly user: { uid: number; gid: number };
  readonly users: readonly ImageUser[];
  /** Where this machine's packages differ from the image's (versions), for the report. */
  readonly differences: readonly string[];
  /** The image's filesystem, built on first use. */
  layer(): Layer;
}

interface CatalogueEntry {
  readonly repository: string;
  readonly tag: RegExp;
  /** The reference folder whose Dockerfile (and bases) give ENV, ENTRYPOINT, CMD... */
  readonly reference: string;
  /**
   * For an image with no reference Dockerfile here: what its upstream Dockerfile declares, and
   * `reference` then names that Dockerfile.
   * @default read from the reference Dockerfile
   */
  readonly config?: ImageConfig;
  readonly users: readonly ImageUser[];
  readonly emulationEnv: Record<string, string>;
  readonly differences: (host: HostVersions) => string[];
  readonly build: (layer: Layer, dockerfileOf: (folder: string) => string) => void;
}

/** Base images of the reference Dockerfiles: another reference folder, or a plain OS image. */
const BASES: Record<string, string | null> = {
  'php:8.3-apache': 'php-8.3-apache',
  'debian:bookworm-slim': null,
  'ubuntu:noble': null,
};

const WWW_DATA: ImageUser = { name: 'www-data', uid: 33, gid: 33, home: '/var/www', shell: '/usr/sbin/nologin' };
/** The mariadb image creates mysql with `groupadd -r` / `useradd -r` on Ubuntu, which gives 999. */
const MYSQL: ImageUser = { name: 'mysql', uid: 999, gid: 999, home: '/var/lib/mysql', shell: '/bin/sh' };

interface HostVersions {
  php: string;
  wordpress: string;
  mariadb: string;
}

function hostVersions(): HostVersions {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'not installed';
    }
  };
  const wp = /\$wp_version = '([^']+)'/.exec(fs.existsSync('/usr/share/wordpress/wp-includes/version.php') ? fs.readFileSync('/usr/share/wordpress/wp-includes/version.php', 'utf8') : '');
  return {
    php: run('php', ['-r', 'echo PHP_VERSION;']),
    wordpress: wp ? wp[1] : 'not installed',
    mariadb: run('mariadbd', ['--version']).replace(/^.*Ver\s+(\S+).*$/s, '$1') || run('/usr/sbin/mariadbd', ['--version']).replace(/^.*Ver\s+(\S+).*$/s, '$1'),
  };
}

/** The PHP minor version of Debian's PHP packages (e.g. "8.2"), from /etc/php. */
function debianPhp(): string {
  const versions = fs.existsSync('/etc/php') ? fs.readdirSync('/etc/php').filter(v => /^[0-9]+\.[0-9]+$/.test(v)) : [];
  if (versions.length !== 1) throw new Error(`expected one PHP version under /etc/php, found ${JSON.stringify(versions)}`);
  return versions[0];
}

/** a2enmod / a2enconf without touching this machine's /var/lib/apache2 state. */
function enable(layer: Layer, kind: 'mods' | 'conf', name: string): void {
  const exts = kind === 'mods' ? ['.load', '.conf'] : ['.conf'];
  let found = false;
  for (const ext of exts) {
    const available = `/etc/apache2/${kind}-available/${name}${ext}`;
    if (!fs.existsSync(layer.at(available))) continue;
    layer.symlink(`../${kind}-available/${name}${ext}`, `/etc/apache2/${kind}-enabled/${name}${ext}`);
    found = true;
  }
  if (!found) throw new Error(`apache ${kind} ${name} is not available in Debian's apache2 package`);
}

function disable(layer: Layer, kind: 'mods' | 'conf', name: string): void {
  for (const ext of ['.load', '.conf']) fs.rmSync(layer.at(`/etc/apache2/${kind}-enabled/${name}${ext}`), { force: true });
}

/** php:8.3-apache (docker-library/php 8.3/bookworm/apache), on Debian's apache2 and mod_php. */
function buildPhpApache(layer: Layer, dockerfile: string, folder: string): void {
  debianBase(layer, [WWW_DATA]);
  const php = debianPhp();
  // ENV PHP_INI_DIR /usr/local/etc/php; mkdir -p "$PHP_INI_DIR/conf.d"
  layer.mkdir('/usr/local/etc/php/conf.d');
  // The extensions the image compiles in or enables with docker-php-ext-enable: Debian's inis for
  // the apache2 SAPI stand in for docker-php-ext-*.ini (same directory, names sort before zz-*).
  const debianConfD = `/etc/php/${php}/apache2/conf.d`;
  for (const f of fs.readdirSync(debianConfD).filter(f => f.endsWith('.ini'))) {
    layer.write(`/usr/local/etc/php/conf.d/${f}`, fs.readFileSync(path.join(debianConfD, f), 'utf8'));
  }
  // The image has no php.ini, only the two templates beside where it would be.
  for (const variant of ['production', 'development']) {
    const template = `/usr/lib/php/${php}/php.ini-${variant}`;
    if (fs.existsSync(template)) layer.copyFile(template, `/usr/local/etc/php/php.ini-${variant}`, { mode: 0o644 });
  }
  for (const sapi of fs.readdirSync(layer.at(`/etc/php/${php}`))) fs.rmSync(layer.at(`/etc/php/${php}/${sapi}/php.ini`), { force: true });
  // mkdir -p /var/www/html; chown www-data:www-data; chmod 1777
  layer.mkdir('/var/www/html', { uid: 33, gid: 33, mode: 0o1777 });
  // envvars: `export X=y` becomes `: ${X:=y}; export X` (sed from the Dockerfile).
  execFileSync('sed', ['-ri', 's/^export ([^=]+)=(.*)$/: ${\\1:=\\2}\\nexport \\1/', layer.at('/etc/apache2/envvars')]);
  // APACHE_LOCK_DIR, APACHE_RUN_DIR, APACHE_LOG_DIR, APACHE_RUN_DIR/socks: www-data, 1777
  // (/var/lock and /var/run are symlinks to /run/lock and /run in the image).
  for (const dir of ['/run/lock/apache2', '/run/apache2', '/var/log/apache2', '/run/apache2/socks']) {
    fs.rmSync(layer.at(dir), { recursive: true, force: true });
    layer.mkdir(dir, { uid: 33, gid: 33, mode: 0o1777 });
  }
  fs.rmSync(layer.at('/var/www/html/index.html'), { force: true });
  layer.symlink('/dev/stderr', '/var/log/apache2/error.log');
  layer.symlink('/dev/stdout', '/var/log/apache2/access.log');
  layer.symlink('/dev/stdout', '/var/log/apache2/other_vhosts_access.log');
  // a2dismod mpm_event && a2enmod mpm_prefork
  disable(layer, 'mods', 'mpm_event');
  enable(layer, 'mods', 'mpm_prefork');
  // The image's `make install` enables its libphp; here Debian's mod_php of the same major version.
  for (const f of fs.readdirSync(layer.at('/etc/apache2/mods-enabled')).filter(f => /^php[0-9.]*\.load$/.test(f) && f !== `php${php}.load`)) {
    disable(layer, 'mods', f.replace(/\.load$/, ''));
  }
  enable(layer, 'mods', `php${php}`);
  layer.write('/etc/apache2/conf-available/docker-php.conf', echoBlock(dockerfile, '"$APACHE_CONFDIR/conf-available/docker-php.conf"'));
  enable(layer, 'conf', 'docker-php');
  // COPY docker-php-ext-* docker-php-entrypoint /usr/local/bin/ ; COPY apache2-foreground /usr/local/bin/
  for (const f of ['docker-php-entrypoint', 'apache2-foreground']) layer.copyFile(path.join(folder, f), `/usr/local/bin/${f}`, { mode: 0o755 });
}

/** wordpress:6.x-php8.3-apache (docker-library/wordpress latest/php8.3/apache). */
function buildWordPress(layer: Layer, dockerfileOf: (folder: string) => string): void {
  const phpFolder = path.join(REFERENCE_IMAGES, 'php-8.3-apache');
  const wpFolder = path.join(REFERENCE_IMAGES, 'wordpress-php8.3-apache');
  buildPhpApache(layer, dockerfileOf('php-8.3-apache'), phpFolder);
  const dockerfile = dockerfileOf('wordpress-php8.3-apache');
  for (const ini of ['opcache-recommended.ini', 'error-logging.ini']) {
    layer.write(`/usr/local/etc/php/conf.d/${ini}`, echoBlock(dockerfile, `"$PHP_INI_DIR/conf.d/${ini}"`));
  }
  for (const mod of ['rewrite', 'expires', 'remoteip']) enable(layer, 'mods', mod);
  layer.write('/etc/apache2/conf-available/remoteip.conf', echoBlock(dockerfile, '/etc/apache2/conf-available/remoteip.conf'));
  enable(layer, 'conf', 'remoteip');
  // Replace %h with %a in every LogFormat (the Dockerfile's find | sed).
  execFileSync('find', [layer.at('/etc/apache2'), '-type', 'f', '-name', '*.conf', '-exec', 'sed', '-ri',
    's/([[:space:]]*LogFormat[[:space:]]+"[^"]*)%h([^"]*")/\\1%a\\2/g', '{}', '+']);
  // tar -xzf wordpress.tar.gz -C /usr/src/ — here Debian's WordPress, as a plain tree like the
  // upstream tarball: symlinks into /etc/wordpress and /var/lib/wordpress resolved, Debian's own
  // wp-config.php (which reads /etc/wordpress) left out.
  const src = layer.bigTree('/usr/src/wordpress');
  execFileSync('cp', ['-rL', '--', '/usr/share/wordpress/.', src]);
  for (const f of ['wp-config.php', '.htaccess']) fs.rmSync(path.join(src, f), { force: true, recursive: true });
  if (fs.existsSync('/var/lib/wordpress/wp-content')) execFileSync('cp', ['-rL', '--', '/var/lib/wordpress/wp-content/.', path.join(src, 'wp-content')]);
  fs.writeFileSync(path.join(src, '.htaccess'), echoBlock(dockerfile, '/usr/src/wordpress/.htaccess'));
  // COPY --chown=www-data:www-data wp-config-docker.php /usr/src/wordpress/
  fs.copyFileSync(path.join(wpFolder, 'wp-config-docker.php'), path.join(src, 'wp-config-docker.php'));
  execFileSync('chown', ['-R', '33:33', src]);
  // Pre-created wp-content (and its children, plus cache) in the WORKDIR, 1777.
  for (const dir of [...fs.readdirSync(path.join(src, 'wp-content'), { withFileTypes: true }).filter(d => d.isDirectory()).map(d => d.name), 'cache']) {
    layer.mkdir(`/var/www/html/wp-content/${dir}`);
  }
  layer.ownTree('/var/www/html/wp-content', 33, 33);
  execFileSync('chmod', ['-R', '1777', layer.at('/var/www/html/wp-content')]);
  // COPY docker-entrypoint.sh /usr/local/bin/ ; ln -svfT docker-entrypoint.sh .../docker-ensure-installed.sh
  layer.copyFile(path.join(wpFolder, 'docker-entrypoint.sh'), '/usr/local/bin/docker-entrypoint.sh', { mode: 0o755 });
  layer.symlink('docker-entrypoint.sh', '/usr/local/bin/docker-ensure-installed.sh');
}

/**
 * Emulation shim, not part of the image (named in docs/pod-emulation.md): the 11.4 entrypoint starts
 * its temporary server with `--skip-ssl --ssl-cert='' --ssl-key='' --ssl-ca=''`, which 11.4 reads as
 * "no certificate" but Debian's 10.11 reads as "SSL on, certificate ''" and aborts. The shim, first
 * on the image's PATH, drops exactly those three empty options and runs Debian's mariadbd.
 */
const MARIADBD_SHIM = `#!/bin/sh
for a; do
  shift
  case "$a" in --ssl-cert=|--ssl-key=|--ssl-ca=) ;; *) set -- "$@" "$a" ;; esac
done
exec /usr/sbin/mariadbd "$@"
`;

/** mariadb:11.4 (MariaDB/mariadb-docker 11.4), on Debian's mariadb-server. */
function buildMariaDb(layer: Layer): void {
  const folder = path.join(REFERENCE_IMAGES, 'mariadb-11.4');
  debianBase(layer, [MYSQL]);
  layer.mkdir('/docker-entrypoint-initdb.d');
  // rm -rf /var/lib/mysql; mkdir -p /var/lib/mysql /run/mysqld; chown mysql:mysql; chmod 1777 /run/mysqld
  layer.mkdir('/var/lib/mysql', { uid: 999, gid: 999 });
  layer.mkdir('/run/mysqld', { uid: 999, gid: 999, mode: 0o1777 });
  // Comment out bind-address, log* and user lines in every .cnf (the Dockerfile's find | sed).
  for (const file of execFileSync('find', [layer.at('/etc/mysql'), '-name', '*.cnf'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (fs.lstatSync(file).isSymbolicLink()) continue;
    execFileSync('sed', ['-Ei', 's/^(bind-address|log|user\\s)/#&/', file]);
  }
  layer.write('/etc/mysql/mariadb.conf.d/05-skipcache.cnf', '[mariadb]\nhost-cache-size=0\nskip-name-resolve\n');
  // Read /etc/mysql/mariadb.conf.d before /etc/mysql/conf.d (swap the two !includedir lines).
  if (fs.lstatSync(layer.at('/etc/mysql/my.cnf')).isSymbolicLink()) {
    execFileSync('sed', ['-i', '-e', '/includedir/ {N;s/\\(.*\\)\\n\\(.*\\)/\\n\\2\\n\\1/}', layer.at('/etc/mysql/mariadb.cnf')]);
  }
  layer.write('/usr/local/bin/mariadbd', MARIADBD_SHIM, { mode: 0o755 });
  layer.copyFile(path.join(folder, 'healthcheck.sh'), '/usr/local/bin/healthcheck.sh', { mode: 0o755 });
  layer.copyFile(path.join(folder, 'docker-entrypoint.sh'), '/usr/local/bin/docker-entrypoint.sh', { mode: 0o755 });
}

/**
 * Emulation shim, not part of the image (named in docs/pod-emulation.md): Debian's apache_exporter
 * 0.12 stands in for 1.x, which took its listen flag from the exporter toolkit; 0.12 calls it
 * --telemetry.address. Every other argument is passed on as it is, so a flag 0.12 lacks still fails.
 */
const APACHE_EXPORTER_SHIM = `#!/bin/sh
for a; do
  shift
  case "$a" in --web.listen-address=*) set -- "$@" "--telemetry.address=\${a#--web.listen-address=}" ;; *) set -- "$@" "$a" ;; esac
done
exec /usr/bin/prometheus-apache-exporter "$@"
`;

/**
 * A Prometheus exporter image (FROM quay.io/prometheus/busybox, ENTRYPOINT /bin/<binary>, USER
 * nobody): Debian's /usr (for the build's shared libraries) and a /bin of its own, as busybox has,
 * holding the image's binary name, which runs `program` (Debian's build of the same exporter).
 */
function buildExporter(layer: Layer, binary: string, program: string): void {
  debianBase(layer, []);
  fs.rmSync(layer.at('/bin'));
  layer.mkdir('/bin');
  layer.symlink('/usr/bin/dash', '/bin/sh');
  layer.write(`/bin/${binary}`, program.startsWith('#!') ? program : `#!/bin/sh\nexec ${program} "$@"\n`, { mode: 0o755 });
}

/** What the upstream Dockerfiles of the exporters declare: ENTRYPOINT only (USER nobody is the pod spec's to set). */
const exporterConfig = (binary: string): ImageConfig => ({ ...BASE_IMAGE_CONFIG, entrypoint: [`/bin/${binary}`], cmd: [] });

const CATALOGUE: readonly CatalogueEntry[] = [
  {
    repository: 'wordpress',
    tag: /^6\.[0-9]+(\.[0-9]+)?-php8\.3-apache$/,
    reference: 'wordpress-php8.3-apache',
    users: [WWW_DATA],
    emulationEnv: {
      // The image's PHP is built with --with-config-file-path=$PHP_INI_DIR and
      // --with-config-file-scan-dir=$PHP_INI_DIR/conf.d; Debian's PHP reads the same paths when told so.
      PHPRC: '/usr/local/etc/php',
      PHP_INI_SCAN_DIR: '/usr/local/etc/php/conf.d',
    },
    differences: h => [
      `PHP ${h.php} (Debian's mod_php and extensions) instead of the image's PHP 8.3 built from source`,
      `WordPress ${h.wordpress} (Debian's package, without bundled themes) instead of the image's 6.8+ tarball`,
    ],
    build: (layer, dockerfileOf) => buildWordPress(layer, dockerfileOf),
  },
  {
    repository: 'mariadb',
    tag: /^11\.4(\.[0-9]+)?$/,
    reference: 'mariadb-11.4',
    users: [MYSQL],
    emulationEnv: {},
    differences: h => [
      `MariaDB ${h.mariadb} (Debian's mariadb-server) instead of 11.4; the entrypoint's hard-coded version 11.4.12 makes it take a restart for an upgrade`,
    ],
    build: layer => buildMariaDb(layer),
  },
  {
    repository: 'prom/mysqld-exporter',
    tag: /^v0\.1[5-9]\.[0-9]+$/,
    reference: 'github.com/prometheus/mysqld_exporter Dockerfile',
    config: exporterConfig('mysqld_exporter'),
    users: [],
    emulationEnv: {},
    differences: () => ['mysqld_exporter 0.14 (Debian\'s prometheus-mysqld-exporter) instead of 0.15; both read --config.my-cnf and --web.listen-address'],
    build: layer => buildExporter(layer, 'mysqld_exporter', '/usr/bin/prometheus-mysqld-exporter'),
  },
  {
    repository: 'quay.io/lusitaniae/apache-exporter',
    tag: /^v1\.[0-9]+\.[0-9]+$/,
    reference: 'github.com/Lusitaniae/apache_exporter Dockerfile',
    config: exporterConfig('apache_exporter'),
    users: [],
    emulationEnv: {},
    differences: () => ['apache_exporter 0.12 (Debian\'s prometheus-apache-exporter) instead of 1.x, behind a shim that renames --web.listen-address to 0.12\'s --telemetry.address'],
    build: layer => buildExporter(layer, 'apache_exporter', APACHE_EXPORTER_SHIM),
  },
];

/** Split `repo:tag` (Docker Hub library images; a registry host or digest is kept in the repository). */
export function parseImage(image: string): { repository: string; tag: string } {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repository: ref.slice(0, colon).replace(/^(docker\.io\/)?(library\/)?/, ''), tag: ref.slice(colon + 1) };
  return { repository: ref.replace(/^(docker\.io\/)?(library\/)?/, ''), tag: 'latest' };
}

function dockerfileOf(folder: string): string {
  const file = path.join(REFERENCE_IMAGES, folder, 'Dockerfile');
  if (!fs.existsSync(file)) throw new Error(`reference Dockerfile ${file} is missing (set POD_EMULATOR_REFERENCE)`);
  return file;
}

function configOf(folder: string): ImageConfig {
  return imageConfig(dockerfileOf(folder), from => {
    if (!(from in BASES)) throw new Error(`base image ${from} of ${folder} is not in the catalogue`);
    const base = BASES[from];
    return base === null ? BASE_IMAGE_CONFIG : configOf(base);
  }).config;
}

const infos = new Map<string, ImageInfo>();

/** Everything the emulator knows about `image`; throws for an image the catalogue lacks. */
export function imageInfo(image: string): ImageInfo {
  const cached = infos.get(image);
  if (cached) return cached;
  const { repository, tag } = parseImage(image);
  const entry = CATALOGUE.find(e => e.repository === repository && e.tag.test(tag));
  if (!entry) {
    throw new Error(`image ${image} is not in the pod emulator's image catalogue (known: ${CATALOGUE.map(e => `${e.repository}:${e.tag.source}`).join(', ')})`);
  }
  const config = entry.config ?? configOf(entry.reference);
  const info: ImageInfo = {
    image,
    repository,
    tag,
    reference: entry.reference,
    entrypoint: config.entrypoint,
    cmd: config.cmd,
    env: { ...config.env, ...entry.emulationEnv },
    emulationEnv: entry.emulationEnv,
    workingDir: config.workingDir,
    stopSignal: config.stopSignal,
    user: { uid: 0, gid: 0 },
    users: entry.users,
    get differences() {
      return entry.differences(hostVersions());
    },
    layer: () => cachedLayer(entry.reference, layer => entry.build(layer, dockerfileOf)),
  };
  infos.set(image, info);
  return info;
}

/** Whether the reference files are present (the suite skips with this reason otherwise). */
export function referenceAvailable(): { ok: boolean; reason?: string } {
  return fs.existsSync(REFERENCE_IMAGES) ? { ok: true } : { ok: false, reason: `reference images not found at ${REFERENCE_IMAGES}` };
}
