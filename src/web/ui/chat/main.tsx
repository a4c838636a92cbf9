import { mount } from '../lib/shell';

mount('chat', () => <main><h1>chat</h1></main>, 'Everything on this page stays on this machine.');
