#!/usr/bin/env node
import './heap.js'
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
