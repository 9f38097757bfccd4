#!/usr/bin/env node
// Writes oclif.manifest.json after a build, so that `custos <command>` loads only that command's
// module instead of importing every command (and every Azure SDK) at start-up.
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Config} from '@oclif/core'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const config = await Config.load({root, ignoreManifest: true})
const plugin = config.getPluginsList().find((p) => p.isRoot)
const manifest = {commands: plugin.manifest.commands, version: plugin.version}
writeFileSync(join(root, 'oclif.manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
console.log(`oclif.manifest.json: ${Object.keys(manifest.commands).length} commands`)
