import assert from 'node:assert/strict';
import { AddressPolicy, classifyAddress, InvalidCidrError } from '../../../../shared/net/address-policy.ts';

describe('AddressPolicy', () => {
  const policy = new AddressPolicy();

  const refused: Record<string, string> = {
    '127.0.0.1': 'loopback',
    '127.255.255.254': 'loopback',
    '0.0.0.0': 'unspecified',
    '10.0.0.1': 'private',
    '172.16.0.1': 'private',
    '172.31.255.255': 'private',
    '192.168.1.1': 'private',
    '169.254.1.1': 'linkLocal',
    '169.254.169.254': 'metadata',
    '100.64.0.1': 'carrierGradeNat',
    '100.100.100.200': 'metadata',
    '224.0.0.1': 'multicast',
    '255.255.255.255': 'broadcast',
    '192.0.0.192': 'metadata',
    '198.18.0.1': 'reserved',
    '240.0.0.1': 'reserved',
    '::1': 'loopback',
    '::': 'unspecified',
    '::ffff:127.0.0.1': 'ipv4Mapped',
    '::ffff:8.8.8.8': 'ipv4Mapped',
    '::7f00:1': 'reserved', // IPv4-compatible ::127.0.0.1, as the URL parser writes it
    'fe80::1': 'linkLocal',
    'fc00::1': 'uniqueLocal',
    'fd00:ec2::254': 'metadata',
    'ff02::1': 'multicast',
    '64:ff9b::7f00:1': 'rfc6052',
    '2002:7f00:1::': '6to4',
    '2001:0:4136:e378::1': 'teredo',
  };

  for (const [address, range] of Object.entries(refused)) {
    it(`refuses ${address} as ${range}`, () => {
      assert.deepEqual(policy.check(address), { allowed: false, address, range });
    });
  }

  it('allows public IPv4 and IPv6 unicast', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001::200e']) {
      assert.deepEqual(policy.check(address), { allowed: true, address, trusted: false }, address);
    }
  });

  it('classifies a string that is not an address as invalid and refuses it', () => {
    assert.equal(classifyAddress('localhost'), 'invalid');
    assert.equal(policy.check('example.com').allowed, false);
  });

  it('lets a trusted CIDR through exactly its own range', () => {
    const trusting = new AddressPolicy(['127.0.0.1/32', '10.20.0.0/16']);
    assert.deepEqual(trusting.check('127.0.0.1'), { allowed: true, address: '127.0.0.1', trusted: true });
    assert.equal(trusting.check('10.20.3.4').allowed, true);
    assert.equal(trusting.check('127.0.0.2').allowed, false);
    assert.equal(trusting.check('10.21.0.1').allowed, false);
    assert.equal(trusting.check('::1').allowed, false);
  });

  it('never trusts metadata endpoints or IPv4-mapped forms, whatever the operator trusts', () => {
    const trustingAll = new AddressPolicy(['0.0.0.0/0', '::/0']);
    assert.equal(trustingAll.check('10.0.0.1').allowed, true);
    assert.deepEqual(trustingAll.check('169.254.169.254'), { allowed: false, address: '169.254.169.254', range: 'metadata' });
    assert.equal(trustingAll.check('fd00:ec2::254').allowed, false);
    assert.equal(trustingAll.check('::ffff:10.0.0.1').allowed, false);
  });

  it('rejects a trusted entry that is not a CIDR, naming it', () => {
    assert.throws(() => new AddressPolicy(['10.0.0.0/8', '10.0.0.0/99']), (err: unknown) => {
      assert.ok(err instanceof InvalidCidrError);
      assert.match(err.message, /10\.0\.0\.0\/99/);
      return true;
    });
  });
});
