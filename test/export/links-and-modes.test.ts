/**
 * A folder export never follows a symbolic link inside its folder — a store folder or a file
 * replaced by a link to elsewhere between two runs is refused (exit 3, naming it) and nothing is
 * written, read or removed outside — and everything an export writes is private: files 0600,
 * folders 0700, archive entries too. These run the library in this process, whose umask (022 on a
 * usual machine) would leave files 0644: the modes come from custos, not from the CLI's umask.
 */
import assert from 'node:assert/strict'
import {createReadStream} from 'node:fs'
import {mkdir, readFile, readdir, rename, stat, symlink, writeFile, lstat} from 'node:fs/promises'
import {join, relative} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'

import tar from 'tar-stream'

import {CustosError} from '../../src/lib/errors.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import {makeFixture, newTempDir, readTree, type ExportFixture} from './fixtures.js'

/** Every path under `dir` (relative) with its permission bits, links not followed. */
async function modes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const walk = async (current: string) => {
    for (const entry of await readdir(current, {withFileTypes: true})) {
      const full = join(current, entry.name)
      out.set(relative(dir, full), (await lstat(full)).mode & 0o777)
      if (entry.isDirectory()) await walk(full)
    }
  }

  await walk(dir)
  return out
}

const isRefusedLink = (path: string) => (e: unknown) =>
  e instanceof CustosError &&
  e.code === 'SymbolicLink' &&
  e.exitCode === 3 &&
  e.message.startsWith(`Refused: ${path} inside the export folder `)

describe('customer export: links inside the export folder, and private files', () => {
  let fixture: ExportFixture

  before(async () => {
    fixture = await makeFixture()
  })

  it('a resumed export into a folder whose store folder became a link to elsewhere is refused, and writes nothing there', async () => {
    const base = await newTempDir('links')
    const dir = join(base, 'acme')
    await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}})
    // The operator (or anyone who can write there) swaps the store folder for a link to an empty folder outside.
    const elsewhere = join(base, 'elsewhere')
    await mkdir(elsewhere)
    await rename(join(dir, 'documents'), join(base, 'documents-moved'))
    await symlink(elsewhere, join(dir, 'documents'))
    await assert.rejects(
      exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}}),
      isRefusedLink(join(dir, 'documents')),
    )
    assert.deepEqual(await readdir(elsewhere), [], 'nothing was written through the link')
    assert.ok((await lstat(join(dir, 'documents'))).isSymbolicLink(), 'the link is left as it was')

    // The same with the real files behind the link: not read (kept) through it, not removed through it either.
    const full = join(base, 'full')
    await rename(join(base, 'documents-moved'), full)
    const before = await readTree(full)
    await rename(join(dir, 'documents'), join(base, 'old-link'))
    await symlink(full, join(dir, 'documents'))
    await assert.rejects(
      exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}}),
      isRefusedLink(join(dir, 'documents')),
    )
    assert.deepEqual(await readTree(full), before, 'the files behind the link are untouched')
  })

  it('a file of the export replaced by a link to a file outside is refused, and the file outside keeps its bytes', async () => {
    const base = await newTempDir('file-link')
    const dir = join(base, 'acme')
    await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}})
    const outside = join(base, 'precious.txt')
    await writeFile(outside, 'not yours')
    const victim = join(dir, 'documents', 'empty.txt')
    await rename(victim, `${victim}.gone`)
    await symlink(outside, victim)
    await assert.rejects(
      exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}}),
      isRefusedLink(victim),
    )
    assert.equal(await readFile(outside, 'utf8'), 'not yours')

    // A run killed before its journal recorded anything: the resume checks the files already on disk
    // (keptFile), and a link among them is refused the same way.
    const journal = join(dir, '.custos-export-journal.jsonl')
    await writeFile(journal, `${(await readFile(journal, 'utf8')).split('\n')[0]}\n`)
    await assert.rejects(
      exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}}),
      isRefusedLink(victim),
    )
    assert.equal(await readFile(outside, 'utf8'), 'not yours')
  })

  it('a folder export creates its folders 0700 and its files 0600, the manifest, sums and journal included', async () => {
    const dir = join(await newTempDir('modes'), 'acme')
    await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}, concurrency: 4})
    assert.equal((await stat(dir)).mode & 0o777, 0o700, 'the export folder')
    const all = await modes(dir)
    assert.ok(all.size > fixture.expected.size, `${all.size} paths`)
    for (const name of ['manifest.json', 'SHA256SUMS', '.custos-export-journal.jsonl'])
      assert.equal(all.get(name), 0o600, name)
    for (const [path, mode] of all) {
      const isDir = (await lstat(join(dir, path))).isDirectory()
      assert.equal(mode.toString(8), isDir ? '700' : '600', path)
    }
  })

  it('an archive and the manifest beside it are 0600, and so are the files inside it', async () => {
    const base = await newTempDir('archive-modes')
    for (const name of ['acme.tar.gz', 'acme.zip']) {
      const file = join(base, name)
      await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'archive', path: file}})
      assert.equal(((await stat(file)).mode & 0o777).toString(8), '600', name)
      assert.equal(((await stat(`${file}.manifest.json`)).mode & 0o777).toString(8), '600', `${name}.manifest.json`)
    }

    const entryModes = new Set<string>()
    const extract = tar.extract()
    const done = (async () => {
      for await (const entry of extract) {
        entryModes.add(`${entry.header.type} ${(entry.header.mode! & 0o777).toString(8)}`)
        entry.resume()
      }
    })()
    await pipeline(createReadStream(join(base, 'acme.tar.gz')), createGunzip(), extract)
    await done
    assert.deepEqual([...entryModes].sort(), ['file 600'])
  })
})
