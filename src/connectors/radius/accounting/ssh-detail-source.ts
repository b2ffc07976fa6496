import { createGunzip } from 'node:zlib';
import { pipeline, PassThrough } from 'node:stream';
import { ConnectorError } from '../../types';
import { shellQuote, type RemoteShell } from '../remote-shell';
import { DETAIL_FILE, type DetailFile, type DetailSource } from './detail-accounting';

const DIRECTORY = /^\/[A-Za-z0-9._\-/]+$/;
const CLIENT_DIR = /^[0-9A-Fa-f.:]{2,45}$/;

/**
 * Detail files on the RADIUS server, read over SSH: `find` lists them, `cat` streams each one
 * (compressed rotations travel compressed and are inflated here).
 */
export function sshDetailSource(shell: RemoteShell, directory: string): DetailSource {
  if (!DIRECTORY.test(directory) || directory.split('/').includes('..')) {
    throw new ConnectorError(`accounting directory ${JSON.stringify(directory)} must be an absolute path of letters, digits and ._-/`);
  }
  const dir = directory.replace(/\/+$/, '');
  return {
    label: `ssh ${shell.label}:${dir}`,
    async list() {
      const r = await shell.exec(`find ${shellQuote(dir)} -mindepth 2 -maxdepth 2 -type f -name 'detail-*' -print`);
      if (r.code !== 0) {
        throw new ConnectorError(`cannot list ${dir} on ${shell.label}: ${r.stderr.trim().split('\n')[0] || `find exited with ${r.code}`}`, { source: 'radius.accounting' });
      }
      const files: DetailFile[] = [];
      for (const line of r.stdout.split('\n')) {
        if (!line.startsWith(`${dir}/`)) continue;
        const [client, name, ...rest] = line.slice(dir.length + 1).split('/');
        const m = name === undefined ? null : DETAIL_FILE.exec(name);
        // Anything unexpected (odd client directory, nested path) is skipped rather than quoted into a command.
        if (rest.length || !m || !CLIENT_DIR.test(client)) continue;
        files.push({ path: `${dir}/${client}/${name}`, client, day: m[1], gzip: Boolean(m[2]) });
      }
      return files;
    },
    async open(file) {
      const stream = await shell.execStream(`cat -- ${shellQuote(file.path)}`);
      if (!file.gzip) return stream as AsyncIterable<Buffer>;
      const out = new PassThrough();
      pipeline(stream, createGunzip(), out, () => { /* errors reach the reader through `out` */ });
      return out;
    },
  };
}
