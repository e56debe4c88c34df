// The undici pieces the HTTP layer needs, imported from their own modules
// instead of undici's index, which also loads fetch, WebSocket, EventSource,
// caches and mocks: about 50 ms of start-up for code a signing run never
// uses. Like the index, we attach the request API to Dispatcher.prototype
// (the same functions, so this is a no-op when the index is loaded too).
import Agent from 'undici/lib/dispatcher/agent.js'
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js'
import ProxyAgent from 'undici/lib/dispatcher/proxy-agent.js'
import api from 'undici/lib/api/index.js'

Object.assign(Dispatcher.prototype, api)

export { Agent, Dispatcher, ProxyAgent }
