# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance as a compute-host step reads it: the compute view of its record (compute/flow.COMPUTE_FIELDS).

The fields of ``instance`` and of each of ``instances``; a module's own
DOCUMENTATION describes the two options and this fragment adds their fields.
docs/CONTRACTS.md shows the records these fields come from.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  instance:
    description:
      - One instance, as the previous step returns it; with a store (O(store_path) or O(store_url)) only C(uuid) is
        needed, the record is read from the store. Exactly one of O(instance) and O(instances).
      - A whole instance record may be given; the step reads only the fields listed here and ignores the record's
        others (its states, actions and faults, which the controller keeps).
    type: dict
    suboptions: &instance_fields
      uuid:
        description:
          - The instance's uuid; required, but for a domain or disks removed by the instance's name with a store.
        type: str
      name:
        description: The instance's name.
        type: str
      hostname:
        description: The guest's hostname; by default its name.
        type: str
      flavor:
        description: The instance's flavor, as its record keeps it.
        type: dict
        suboptions:
          name:
            description: The flavor's name.
            type: str
          vcpus:
            description: Virtual CPUs.
            type: int
          memory_mb:
            description: Memory in MB.
            type: int
          root_gb:
            description: Size of the root disk in GB.
            type: int
          ephemeral_gb:
            description: Size of the ephemeral disk in GB.
            type: int
          swap_mb:
            description: Size of the swap disk in MB.
            type: int
          extra_specs:
            description: The flavor's extra specs, a free-form mapping of the operator's own keys to strings.
            type: dict
      image:
        description: The instance's image, as its record keeps it (a URL without its user and password).
        type: dict
        suboptions:
          name:
            description: The image's name.
            type: str
          source:
            description: A path on the compute host or an http(s) URL.
            type: str
          sha256:
            description: The image's SHA-256.
            type: str
          disk_format:
            description: The image's format.
            type: str
            choices: [qcow2, raw]
          min_disk:
            description: The smallest root disk in GB the image boots from.
            type: int
          properties:
            description: Glance's image properties, a free-form mapping of the operator's own keys.
            type: dict
      metadata:
        description: Nova's instance metadata, a free-form mapping of the user's own keys to strings.
        type: dict
      public_keys:
        description: The guest's SSH public keys by key name (names of the user's own), for the config drive.
        type: dict
      key_name:
        description: The name of the instance's key pair.
        type: str
      availability_zone:
        description: The availability zone the request asked for.
        type: str
      launch_index:
        description: The instance's position in a multi-create request, from 0.
        type: int
      network_info:
        description:
          - The instance's VIFs in request order (Nova's network model), from M(nimbus.compute.network_allocate).
        type: list
        elements: dict
        suboptions:
          id:
            description: The port's id.
            type: str
            required: true
          address:
            description: The port's MAC address.
            type: str
            required: true
          type:
            description: The VIF type (V(bridge)).
            type: str
          devname:
            description: The tap device's name on the host.
            type: str
          vnic_type:
            description: The vNIC type (V(normal)).
            type: str
          active:
            description: Whether the port is plugged and up.
            type: bool
          network:
            description: The port's network.
            type: dict
            suboptions:
              id:
                description: The network's name.
                type: str
              label:
                description: The network's label (its name).
                type: str
              bridge:
                description: The host bridge or libvirt network the port plugs into.
                type: str
              meta:
                description: How the port is plugged.
                type: dict
                suboptions:
                  mtu:
                    description: The network's MTU.
                    type: int
                  dhcp:
                    description: Whether the guest gets its IPv4 address by DHCP.
                    type: bool
                  libvirt_network:
                    description: The libvirt network, none on a host bridge.
                    type: str
              subnets:
                description: The network's subnets with the port's address in each.
                type: list
                elements: dict
                suboptions:
                  cidr:
                    description: The subnet.
                    type: str
                  version:
                    description: V(4) or V(6).
                    type: int
                  gateway:
                    description: The subnet's gateway.
                    type: dict
                    suboptions:
                      address:
                        description: The gateway's address, none for a subnet without one.
                        type: str
                  dns:
                    description: The subnet's DNS servers.
                    type: list
                    elements: dict
                    suboptions:
                      address:
                        description: A DNS server's address.
                        type: str
                  ips:
                    description: The port's addresses in the subnet.
                    type: list
                    elements: dict
                    suboptions:
                      address:
                        description: The address.
                        type: str
                      type:
                        description: V(fixed).
                        type: str
                      version:
                        description: V(4) or V(6).
                        type: int
                  routes:
                    description: The subnet's extra routes.
                    type: list
                    elements: dict
                    suboptions:
                      cidr:
                        description: The destination.
                        type: str
                      gateway:
                        description: The next hop.
                        type: dict
                        suboptions:
                          address:
                            description: The next hop's address.
                            type: str
      block_device_mapping:
        description: The instance's block device mapping (Nova's v2, complete), from M(nimbus.compute.host_select).
        type: list
        elements: dict
        suboptions:
          source_type:
            description: V(image), V(blank) or V(volume).
            type: str
          destination_type:
            description: V(local) or V(volume).
            type: str
          boot_index:
            description: The boot order; none for a disk not booted from.
            type: int
          device_name:
            description: The device name asked for.
            type: str
          disk_bus:
            description: The disk bus asked for.
            type: str
          device_type:
            description: V(disk) or V(cdrom).
            type: str
          guest_format:
            description: The filesystem or V(swap) of a blank disk.
            type: str
          volume_size:
            description: The size in GB (MB for swap).
            type: int
          delete_on_termination:
            description: Whether a volume goes with the instance.
            type: bool
          uuid:
            description: The image or the existing volume.
            type: str
      block_device_info:
        description: The instance's disks, as M(nimbus.compute.block_device_map) returns them.
        type: dict
        suboptions:
          root_device_name:
            description: The root disk's device, for example C(/dev/vda).
            type: str
          instance_dir:
            description: The instance's directory on the host.
            type: str
          boot_from_volume:
            description: Whether the root disk is a volume.
            type: bool
          disks:
            description: The disks, root first, the config drive last.
            type: list
            elements: dict
            suboptions:
              device_name:
                description: The guest device, for example V(vda).
                type: str
              path:
                description: The disk's file on the host.
                type: str
              bus:
                description: The disk's bus.
                type: str
              type:
                description: V(disk) or V(cdrom).
                type: str
              format:
                description: V(qcow2) or V(raw).
                type: str
              boot_index:
                description: The boot order; none for a disk not booted from.
                type: int
              size_bytes:
                description: The disk's size.
                type: int
              source_type:
                description: The mapping's source type.
                type: str
              destination_type:
                description: The mapping's destination type.
                type: str
              guest_format:
                description: The mapping's guest format.
                type: str
              delete_on_termination:
                description: Whether a volume goes with the instance.
                type: bool
              volume_name:
                description: The volume's name in its pool.
                type: str
              pool:
                description: The volume's libvirt storage pool.
                type: str
      config_drive_format:
        description: V(config-2) or V(nocloud).
        type: str
      libvirt_uri:
        description: The libvirt URI of the instance's host, recorded with its claim.
        type: str
      instances_path:
        description: Where the host keeps the instance's disks, recorded with its claim.
        type: str
      virt_type:
        description: The virtualisation type of the instance's host, recorded with its claim.
        type: str
      firewall:
        description:
          - What the firewall driver needs for the instance's ports, which M(nimbus.compute.libvirt_domain)'s action
            adds from the store (the instance's security groups); null or absent, the ports have no filter.
          - Each port gets the filter C(nimbus-port-<port id>) made of these rules, with libvirt's anti-spoofing
            filters and DHCP from its network's server.
        type: dict
        suboptions:
          rules:
            description: The rules of the instance's security groups, each once.
            type: list
            elements: dict
            suboptions:
              direction:
                description: V(ingress) or V(egress).
                type: str
              ethertype:
                description: V(IPv4) or V(IPv6).
                type: str
              protocol:
                description: A protocol name (V(tcp), V(udp), V(icmp), ...) or number; null for any.
                type: raw
              port_range_min:
                description: The first port, or the ICMP type.
                type: int
              port_range_max:
                description: The last port, or the ICMP code.
                type: int
              remote_ip_prefix:
                description: The remote end's network.
                type: str
              remote_group_id:
                description: The uuid of the remote group, whose members' addresses are in C(remote_groups).
                type: str
          remote_groups:
            description: Each remote group the rules name, with its members' addresses.
            type: list
            elements: dict
            suboptions:
              id:
                description: The group's uuid.
                type: str
              addresses:
                description: The IP addresses of the ports of the group's instances.
                type: list
                elements: str
  instances:
    description:
      - Several instances of one compute host in one call, each with the fields of O(instance); an instance given as
        a string is its uuid (with a store, the uuids of the run's instances).
    type: list
    elements: dict
    suboptions: *instance_fields
"""
