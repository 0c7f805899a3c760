# The lab's Vagrantfile, without Vagrant or a VM: it is evaluated against a stand-in for
# Vagrant.configure that records every call, then checked: three Debian 12 machines on private
# networks, every local file a provisioner takes (path:, source:) exists, the provisioning
# scripts parse with bash -n and every file of the source tree they use exists, and BLOCK_DTLS
# reaches the gateway's provisioning.
#
# usage: ruby vagrant_check.rb VAGRANTFILE
require "open3"

# Records every call made on it; a call with a block yields a child recorder for that scope.
class Recorder
  def initialize(log, scope)
    @log = log
    @scope = scope
    @children = {}
  end

  def method_missing(name, *args, **options, &block)
    name = name.to_s
    if name.end_with?("=")
      @log << { scope: @scope, name: name.chomp("="), args: args, options: {} }
      return args.first
    end
    # config.vm, gw.vm: a namespace
    return (@children[name] ||= Recorder.new(@log, @scope + [name])) if args.empty? && options.empty? && !block

    @log << { scope: @scope, name: name, args: args, options: options }
    block&.call(Recorder.new(@log, @scope + [name] + args.map(&:to_s)))
    nil
  end

  def respond_to_missing?(*)
    true
  end
end

module Vagrant
  LOG = []
  def self.configure(version)
    raise "Vagrant.configure(#{version.inspect}): expected \"2\"" unless version == "2"

    yield Recorder.new(LOG, [])
  end
end

failures = []
check = ->(ok, message) { failures << message unless ok }

vagrantfile = File.expand_path(ARGV.fetch(0))
root = File.dirname(vagrantfile)
ENV["BLOCK_DTLS"] = "1"
load vagrantfile
log = Vagrant::LOG

machine_of = ->(call) { i = call[:scope].index("define"); i && call[:scope][i + 1] }
machines = log.select { |c| c[:name] == "define" }.map { |c| c[:args].first }
check.(machines.sort == %w[client gateway server], "machines: #{machines.inspect}")
box = log.find { |c| c[:name] == "box" && machine_of.(c).nil? }
check.(box && box[:args].first == "debian/bookworm64", "config.vm.box: #{box && box[:args].first.inspect}")

networks = Hash.new { |h, k| h[k] = [] }
log.select { |c| c[:name] == "network" && c[:args].first == "private_network" }.each do |c|
  networks[machine_of.(c)] << c[:options][:ip]
end
check.(networks["gateway"].size == 2, "gateway networks: #{networks['gateway'].inspect}")
%w[client server].each { |m| check.(networks[m].size == 1, "#{m} networks: #{networks[m].inspect}") }
subnet = ->(ip) { ip.to_s.split(".")[0, 3].join(".") }
check.(networks["gateway"].map(&subnet).sort == (networks["client"] + networks["server"]).map(&subnet).sort,
       "the gateway is not on the client's and the server's networks: #{networks.inspect}")

provisions = log.select { |c| c[:name] == "provision" }
check.(provisions.any?, "no provisioner")
scripts = []
provisions.each do |c|
  where = "#{machine_of.(c)}: provision #{c[:args].first}"
  [:path, :source].each do |key|
    file = c[:options][key]
    next unless file

    full = File.expand_path(file, root)
    check.(File.exist?(full), "#{where}: #{key} #{file} does not exist")
    scripts << full if key == :path
  end
  check.(c[:options][:path] || c[:options][:source] || c[:options][:inline],
         "#{where}: neither path, source nor inline")
end

block = provisions.select { |c| machine_of.(c) == "gateway" && c[:options].dig(:env, "BLOCK_DTLS") == "1" }
check.(block.any?, "BLOCK_DTLS=1 does not reach any of the gateway's provisioners")

# The scripts: syntax, and the files of the source tree (synced to /vagrant) that they use
scripts.each do |script|
  _, err, status = Open3.capture3("bash", "-n", script)
  check.(status.success?, "#{script}: bash -n: #{err}")
  File.read(script).scan(%r{(?:\$src|\$\{src\}|(?<![\w/])/vagrant)/([\w./-]+)}).flatten.uniq.each do |file|
    next if file.start_with?("build/") # the package is optional: built there without it

    check.(File.exist?(File.join(root, file)), "#{script}: uses #{file}, which does not exist")
  end
  # Files the scripts install from the package must be ones the package has
  File.read(script).scan(%r{/usr/libexec/mtuguard/([\w.-]+)}).flatten.uniq.each do |file|
    check.(File.exist?(File.join(root, "deploy/ocserv", file)), "#{script}: uses /usr/libexec/mtuguard/#{file}")
  end
end

failures.each { |f| puts "FAIL: #{f}" }
exit 1 unless failures.empty?
puts "PASS: Vagrantfile: #{machines.sort.join(', ')}; #{provisions.size} provisioners, " \
     "#{scripts.size} scripts, every local path exists"
